using System.Diagnostics;
using System.Text.Json;
using Shellbox.Azure.Runtime;
using Shellbox.Core.Errors;

namespace Shellbox.Azure.Tests.Runtime;

/// <summary>SshInstanceAgent against a real sshd per emulated instance running the built shellbox-agent.</summary>
[Collection(AgentHostCollection.Name)]
public sealed class SshInstanceAgentTests(AgentHostFixture fixture) : IAsyncLifetime
{
    private readonly List<string> vms = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var vm in vms)
        {
            await fixture.Host.StopAsync(vm, CancellationToken.None);
        }
    }

    [Fact]
    public async Task Build_golden_lays_a_suspended_box_onto_the_data_disk_as_a_full_disk_any_instance_can_resume()
    {
        // GIVEN the golden disk the fixture had the agent build over SSH (build-golden --control-key ...)
        var built = fixture.GoldenBuilt;

        // THEN it is the golden the Local provider builds from the same inputs, taken from the cache, not rebuilt
        Assert.Equal(fixture.LocalGolden.Version, built.Version);
        Assert.StartsWith("ssh-ed25519 ", built.HostKey);

        // AND the disk holds a box ready to resume whose disk stands alone (a disk copied from a snapshot has no backing file)
        foreach (var file in new[] { "box.qcow2", "ram.img", "device.state", "vmlinuz", "initrd.img", "golden.json", "meta.json" })
        {
            Assert.True(File.Exists(Path.Combine(fixture.GoldenDisk, file)), $"{file} is missing from the golden disk");
        }

        using var info = JsonDocument.Parse(await OutputOfAsync("qemu-img", "info", "--output=json", Path.Combine(fixture.GoldenDisk, "box.qcow2")));
        Assert.False(info.RootElement.TryGetProperty("backing-filename", out _), "box.qcow2 on the golden disk leans on a backing file");
        using var meta = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(fixture.GoldenDisk, "meta.json")));
        Assert.Equal(built.Version, meta.RootElement.GetProperty("golden").GetString());
        Assert.Equal(built.HostKey, meta.RootElement.GetProperty("goldenHostKey").GetString());
    }

    [Fact]
    public async Task An_instance_presenting_another_host_key_than_the_pinned_one_is_refused_before_anything_runs()
    {
        var vm = await StartVmAsync("impostor");
        var marker = Path.Combine(fixture.Folder, $"ran-{Guid.NewGuid():N}");

        var error = await Assert.ThrowsAsync<ShellboxException>(() =>
            new SshInstanceAgent("root", fixture.AdminKeyPath, $"touch {marker}; shellbox-agent")
                .RunAsync(vm.Address with { HostKey = fixture.GoldenBuilt.HostKey }, ["status", "volume-x"], TimeSpan.FromSeconds(20)));

        Assert.Equal("InstanceHostKeyMismatch", error.ErrorId);
        Assert.Contains(vm.Address.Host, error.Message);
        Assert.False(File.Exists(marker), "a command ran on an instance whose host key did not match");

        // The same call with the pinned key goes through.
        var result = await new SshInstanceAgent("root", fixture.AdminKeyPath, $"touch {marker}; shellbox-agent")
            .RunAsync(vm.Address, ["status", "volume-x"], TimeSpan.FromSeconds(20));
        Assert.Equal(0, result.ExitCode);
        Assert.True(File.Exists(marker));
    }

    [Fact]
    public async Task Arguments_reach_the_agent_literally_whatever_shell_syntax_they_hold()
    {
        var vm = await StartVmAsync("quoting");
        var marker = Path.Combine(fixture.Folder, $"injected-{Guid.NewGuid():N}");
        var hostile = $"v'; touch {marker}; echo '$(touch {marker})`touch {marker}`";

        var result = await fixture.Agent().RunAsync(vm.Address, ["resume", hostile], TimeSpan.FromSeconds(20));

        // The agent got the whole string as one volume id and refused it as one; the shell ran none of it.
        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("ResourceIdInvalid: ", result.StdErr);
        Assert.Contains(hostile, result.StdErr);
        Assert.False(File.Exists(marker), "an argument was run by the instance's shell");
    }

    [Fact]
    public async Task An_instance_without_the_agent_answers_127_which_the_runtime_reports_as_a_missing_agent()
    {
        // GIVEN an instance whose image has no agent (yet): cloud-init may still be installing it
        var vm = await StartVmAsync("noagent");
        var agent = new SshInstanceAgent("root", fixture.AdminKeyPath, "shellbox-agent-not-installed");

        // THEN the exit is returned, not thrown (the golden build waits on it), and the runtime names the cause
        Assert.Equal(127, (await agent.RunAsync(vm.Address, ["status", "volume-x"], TimeSpan.FromSeconds(20))).ExitCode);
        var store = Local.Store.SqlitePoolStore.Open(Path.Combine(fixture.Folder, $"noagent-{Guid.NewGuid():N}.db"));
        var now = DateTimeOffset.UtcNow;
        await store.CommitAsync([Core.Ports.StoreWrite.Insert(new Core.Model.InstanceRecord { Id = "instance-noagent", Status = "free", Created = now, LastUsed = now, Endpoint = $"{vm.Address.Host}:{vm.Address.Port}", HostKey = vm.Address.HostKey })]);
        var error = await Assert.ThrowsAsync<ShellboxException>(() => new AgentBoxRuntime(store, agent, fixture.ControlKeyPath).ResumeAsync("instance-noagent", "volume-x"));
        Assert.Equal("AgentMissing", error.ErrorId);
    }

    [Fact]
    public async Task A_command_past_its_deadline_is_stopped_with_a_clear_error()
    {
        var vm = await StartVmAsync("slow");
        var clock = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<ShellboxException>(() =>
            new SshInstanceAgent("root", fixture.AdminKeyPath, "sleep").RunAsync(vm.Address, ["30"], TimeSpan.FromSeconds(2)));

        Assert.Equal("AgentTimeout", error.ErrorId);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"the deadline of 2 s was honoured only after {clock.Elapsed}");
    }

    [Fact]
    public async Task A_cancelled_call_returns_at_once()
    {
        var vm = await StartVmAsync("cancel");
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        var clock = Stopwatch.StartNew();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            new SshInstanceAgent("root", fixture.AdminKeyPath, "sleep").RunAsync(vm.Address, ["30"], TimeSpan.FromSeconds(60), cancel.Token));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"cancellation took {clock.Elapsed}");
    }

    private async Task<StartedVm> StartVmAsync(string name)
    {
        var vm = await fixture.StartVmAsync($"{fixture.NewPrefix()}-{name}");
        vms.Add(vm.Name);
        return vm;
    }

    private static async Task<string> OutputOfAsync(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return output;
    }
}
