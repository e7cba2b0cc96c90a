using Shellbox.Core.Errors;
using Shellbox.Core.Ports;
using Shellbox.Local.Files;
using Shellbox.Local.Infrastructure;
using Shellbox.Local.Qemu;
using Shellbox.Local.Runtime;

namespace Shellbox.Local.Tests.Runtime;

/// <summary>What the Local runtime adds to the contract: QEMU processes, files on the volume, cold boot.</summary>
[Collection(GoldenCollection.Name)]
public sealed class QemuBoxRuntimeTests(GoldenFixture golden) : IAsyncLifetime
{
    private readonly TempFolder folder = new("shellbox-qemu");
    private Core.Settings.ShellboxSettings settings = null!;
    private LocalInfrastructure infrastructure = null!;

    public Task InitializeAsync()
    {
        settings = GoldenFixture.Settings(folder.Path, 2, GoldenFixture.FreePortBlock(2));
        infrastructure = new LocalInfrastructure(settings, golden.Options);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await GoldenFixture.KillBoxesAsync(folder.Path);
        folder.Dispose();
    }

    private QemuBoxRuntime Runtime(LocalProviderOptions? options = null) => new(settings, options ?? golden.Options);

    private string VolumeFile(string name) => folder.Combine("volumes", "volume-a", name);

    private async Task NewBoxAsync()
    {
        await infrastructure.CreateInstanceAsync("instance-a", new Dictionary<string, string>());
        await infrastructure.CreateVolumeAsync("volume-a", golden.Golden, new Dictionary<string, string>());
        await infrastructure.AttachAsync("instance-a", "volume-a", new Dictionary<string, string>());
    }

    [Fact]
    public async Task A_box_runs_in_its_own_session_and_a_later_process_finds_suspends_and_an_openssh_client_trusts_it()
    {
        await NewBoxAsync();
        var endpoint = await Runtime().ResumeAsync("instance-a", "volume-a");

        // QEMU is in a session of its own, so a Ctrl+C in our terminal does not reach it.
        var qemu = QemuProcess.Find(folder.Combine("instances", "instance-a"))!;
        Assert.NotEqual(SessionOf(Environment.ProcessId), SessionOf(qemu.Pid));
        Assert.Equal(qemu.Pid, SessionOf(qemu.Pid));

        // The endpoint's host key line is a known_hosts entry that OpenSSH accepts with strict checking.
        var knownHosts = folder.Combine("known_hosts");
        await File.WriteAllTextAsync(knownHosts, endpoint.HostKey + "\n");
        var ssh = await ExternalTool.TryRunAsync(
            "ssh",
            ["-i", endpoint.ControlKeyPath, "-p", endpoint.Port.ToString(), "-o", "UserKnownHostsFile=" + knownHosts, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "root@" + endpoint.Host, "echo hi"],
            CancellationToken.None);
        Assert.True(ssh.ExitCode == 0, ssh.StdErr);
        Assert.Equal("hi", ssh.StdOut.Trim());

        // A new runtime object, as in another pwsh process, sees the box and suspends it.
        var later = Runtime();
        Assert.True(await later.IsRunningAsync("instance-a", "volume-a"));
        await later.SuspendAsync("instance-a", "volume-a");
        Assert.False(qemu.IsAlive);
        Assert.True(File.Exists(VolumeFile("device.state")));
        Assert.False(File.Exists(folder.Combine("instances", "instance-a", "qmp.sock")));
    }

    [Fact]
    public async Task A_corrupt_saved_state_is_refused_with_qemus_reason_and_no_qemu_is_left_running()
    {
        await NewBoxAsync();
        var state = await File.ReadAllBytesAsync(VolumeFile("device.state"));
        await File.WriteAllBytesAsync(VolumeFile("device.state"), state[..(state.Length / 2)]);

        var error = await Assert.ThrowsAsync<SavedStateCorruptException>(() => Runtime().ResumeAsync("instance-a", "volume-a"));

        Assert.Equal("DeviceStateInvalid", error.ErrorId);
        Assert.Contains("qemu.log", error.Message);
        Assert.Null(QemuProcess.Find(folder.Combine("instances", "instance-a")));
        Assert.True(File.Exists(VolumeFile("device.state"))); // kept for diagnosis; nothing resumed from it
    }

    [Fact]
    public async Task A_missing_ram_file_is_refused_instead_of_resuming_on_zeroed_memory()
    {
        // GIVEN a box that has its own RAM file (its first resume copied the golden's in) and lost it
        await NewBoxAsync();
        var runtime = Runtime();
        await runtime.ResumeAsync("instance-a", "volume-a");
        await runtime.SuspendAsync("instance-a", "volume-a");
        File.Delete(VolumeFile("ram.img"));

        var error = await Assert.ThrowsAsync<ShellboxException>(() => runtime.ResumeAsync("instance-a", "volume-a"));

        Assert.Equal("RamFileInvalid", error.ErrorId);
        Assert.False(File.Exists(VolumeFile("ram.img")));
    }

    [Fact]
    public async Task A_box_that_does_not_answer_in_time_is_stopped_and_the_error_names_its_console_log()
    {
        await NewBoxAsync();
        var impatient = Runtime(golden.Options with { ResumeTimeout = TimeSpan.FromMilliseconds(1) });

        var error = await Assert.ThrowsAsync<ShellboxException>(() => impatient.ResumeAsync("instance-a", "volume-a"));

        Assert.Equal("BoxNotAnswering", error.ErrorId);
        Assert.Contains(folder.Combine("instances", "instance-a", "console.log"), error.Message);
        Assert.False(await impatient.IsRunningAsync("instance-a", "volume-a"));
    }

    [Fact]
    public async Task A_box_whose_state_was_lost_is_refused_until_it_is_cold_booted_which_keeps_its_disk_and_host_key()
    {
        // GIVEN a box that wrote a file and then died without a suspend (its QEMU was killed)
        await NewBoxAsync();
        var runtime = Runtime();
        var endpoint = await runtime.ResumeAsync("instance-a", "volume-a");
        await runtime.RunAsync(endpoint, "echo survives > /root/file; echo lost > /tmp/file; sync", TimeSpan.FromSeconds(30));
        await QemuProcess.Find(folder.Combine("instances", "instance-a"))!.KillAsync();

        // WHEN it is resumed THEN that is refused: there is no state, and nothing was started
        var error = await Assert.ThrowsAsync<SavedStateMissingException>(() => runtime.ResumeAsync("instance-a", "volume-a"));
        Assert.Equal("SavedStateMissing", error.ErrorId); // what Core's connect matches to cold-boot
        Assert.False(await runtime.IsRunningAsync("instance-a", "volume-a"));

        // WHEN it is cold-booted THEN its disk and host key are kept, its RAM is new, and it suspends and resumes again
        var booted = await runtime.ColdBootAsync("instance-a", "volume-a");
        Assert.Equal(endpoint.HostKey, booted.HostKey);
        Assert.Equal("survives", (await runtime.RunAsync(booted, "cat /root/file", TimeSpan.FromSeconds(30))).StdOut.Trim());
        Assert.NotEqual(0, (await runtime.RunAsync(booted, "test -e /tmp/file", TimeSpan.FromSeconds(30))).ExitCode);
        await runtime.SuspendAsync("instance-a", "volume-a");
        var resumed = await runtime.ResumeAsync("instance-a", "volume-a");
        Assert.Equal("survives", (await runtime.RunAsync(resumed, "cat /root/file", TimeSpan.FromSeconds(30))).StdOut.Trim());
        await runtime.SuspendAsync("instance-a", "volume-a");
    }

    [Fact]
    public async Task Cloned_boxes_draw_different_random_numbers_after_their_first_resume()
    {
        await NewBoxAsync();
        await infrastructure.CreateInstanceAsync("instance-b", new Dictionary<string, string>());
        await infrastructure.CreateVolumeAsync("volume-b", golden.Golden, new Dictionary<string, string>());
        await infrastructure.AttachAsync("instance-b", "volume-b", new Dictionary<string, string>());
        var runtime = Runtime();

        var endpoints = await Task.WhenAll(runtime.ResumeAsync("instance-a", "volume-a"), runtime.ResumeAsync("instance-b", "volume-b"));
        var random = await Task.WhenAll(endpoints.Select(e => runtime.RunAsync(e, "head -c 16 /dev/urandom | od -An -tx1", TimeSpan.FromSeconds(30))));

        Assert.NotEqual(random[0].StdOut, random[1].StdOut);
        await Task.WhenAll(runtime.SuspendAsync("instance-a", "volume-a"), runtime.SuspendAsync("instance-b", "volume-b"));
    }

    [Fact]
    public async Task A_resume_whose_process_died_after_loading_the_state_is_finished_by_the_next_resume()
    {
        // GIVEN a box resumed and suspended once (its RAM file its own), then a QEMU that loaded its state and
        // was never continued (its resumer died there)
        await NewBoxAsync();
        var runtime = Runtime();
        await runtime.ResumeAsync("instance-a", "volume-a");
        await runtime.SuspendAsync("instance-a", "volume-a");
        var launch = runtime.LaunchFor("instance-a", "volume-a", incoming: true);
        var orphan = await QemuRun.StartAsync(golden.Options.QemuBinary, runtime.Machine, launch, folder.Combine("instances", "instance-a"), CancellationToken.None);
        await orphan.LoadStateAsync(VolumeFile("device.state"), TimeSpan.FromSeconds(30), CancellationToken.None);
        await orphan.DisposeAsync();

        // WHEN the box is resumed THEN that QEMU is continued (not a second one started) and the stale state is gone
        var endpoint = await Runtime().ResumeAsync("instance-a", "volume-a");
        Assert.Equal(orphan.Process.Pid, QemuProcess.Find(folder.Combine("instances", "instance-a"))!.Pid);
        Assert.Equal("ok", (await runtime.RunAsync(endpoint, "echo ok", TimeSpan.FromSeconds(30))).StdOut.Trim());
        Assert.False(File.Exists(VolumeFile("device.state")));
        await runtime.SuspendAsync("instance-a", "volume-a");
    }

    [Fact]
    public async Task Two_processes_resuming_one_box_at_once_share_one_qemu_and_one_host_key()
    {
        await NewBoxAsync();

        var endpoints = await Task.WhenAll(Runtime().ResumeAsync("instance-a", "volume-a"), Runtime().ResumeAsync("instance-a", "volume-a"));

        Assert.Equal(endpoints[0], endpoints[1]);
        var runtime = Runtime();
        Assert.Equal("ok", (await runtime.RunAsync(endpoints[0], "echo ok", TimeSpan.FromSeconds(30))).StdOut.Trim());
        Assert.Single(System.Diagnostics.Process.GetProcessesByName("qemu-system-x86_64"), p => File.ReadAllText($"/proc/{p.Id}/cmdline").Contains(folder.Path));
        await runtime.SuspendAsync("instance-a", "volume-a");
    }

    [Fact]
    public async Task Deleting_an_instance_stops_a_pool_box_on_it_but_refuses_while_a_users_box_runs()
    {
        await NewBoxAsync();
        var runtime = Runtime();
        await runtime.ResumeAsync("instance-a", "volume-a");
        await infrastructure.CreateInstanceAsync("instance-b", new Dictionary<string, string>());
        await infrastructure.CreateVolumeAsync("volume-b", golden.Golden, new Dictionary<string, string>());
        await infrastructure.AttachAsync("instance-b", "volume-b", new Dictionary<string, string> { [Core.Model.TagKeys.UserId] = "u1" });
        await runtime.ResumeAsync("instance-b", "volume-b");

        await infrastructure.DeleteInstanceAsync("instance-a");
        var error = await Assert.ThrowsAsync<ShellboxException>(() => infrastructure.DeleteInstanceAsync("instance-b"));

        Assert.Equal("InstanceBoxRunning", error.ErrorId);
        Assert.False(Directory.Exists(folder.Combine("instances", "instance-a")));
        Assert.True(await runtime.IsRunningAsync("instance-b", "volume-b"));
        await runtime.SuspendAsync("instance-b", "volume-b");
        await infrastructure.DeleteInstanceAsync("instance-b");
    }

    private static int SessionOf(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[3]);
    }
}
