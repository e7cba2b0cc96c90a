using System.Globalization;
using Shellbox.Azure.Runtime;
using Shellbox.Contracts;
using Shellbox.Core.Errors;
using Shellbox.Core.Model;
using Shellbox.Core.Ports;
using Shellbox.Local.Store;

namespace Shellbox.Azure.Tests.Runtime;

/// <summary>What the Azure runtime adds to the contract: errors Core acts on, and the pinned instance key.</summary>
[Collection(AgentHostCollection.Name)]
public sealed class AgentBoxRuntimeTests(AgentHostFixture fixture) : IAsyncLifetime
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(30);
    private readonly string folder = Directory.CreateTempSubdirectory("shellbox-agentbox-").FullName;
    private SqlitePoolStore store = null!;
    private EmulatedInstances instances = null!;
    private AgentBoxRuntime runtime = null!;

    public Task InitializeAsync()
    {
        store = SqlitePoolStore.Open(Path.Combine(folder, "state.db"));
        instances = new EmulatedInstances(fixture, store, folder);
        runtime = new AgentBoxRuntime(store, fixture.Agent(), fixture.ControlKeyPath);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await instances.DisposeAsync();
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public async Task A_box_whose_instance_stopped_without_a_suspend_is_refused_with_the_typed_error_and_a_cold_boot_keeps_its_disk_and_host_key()
    {
        // GIVEN a box that wrote a file and then lost its QEMU without a suspend
        await NewBoxAsync("lost");
        var endpoint = await runtime.ResumeAsync("instance-lost", "volume-lost");
        await RunAsync(endpoint, "echo survives > /root/file; echo lost > /tmp/file; sync");
        await KillQemuAsync("instance-lost");

        // WHEN it is resumed THEN the agent's refusal arrives as the typed error Core's connect cold-boots on
        var error = await Assert.ThrowsAsync<SavedStateMissingException>(() => runtime.ResumeAsync("instance-lost", "volume-lost"));
        Assert.Equal("SavedStateMissing", error.ErrorId);
        Assert.False(await runtime.IsRunningAsync("instance-lost", "volume-lost"));

        // WHEN it is cold-booted THEN its disk and its pinned host key are kept, its RAM is new
        var booted = await runtime.ColdBootAsync("instance-lost", "volume-lost");
        Assert.Equal(endpoint.HostKey, booted.HostKey);
        Assert.Equal("survives", await RunAsync(booted, "cat /root/file"));
        Assert.Equal("gone", await RunAsync(booted, "cat /tmp/file 2>/dev/null || echo gone"));
        var clock = long.Parse(await RunAsync(booted, "date +%s"), CultureInfo.InvariantCulture);
        Assert.InRange(clock, DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 5, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 5);
        await runtime.SuspendAsync("instance-lost", "volume-lost");
    }

    [Fact]
    public async Task An_instance_whose_host_key_is_not_the_pinned_one_is_refused_and_its_box_is_not_started()
    {
        // GIVEN an instance whose record pins another host key than the one it presents
        await NewBoxAsync("spoofed");
        var record = (await store.GetAsync<InstanceRecord>("instance-spoofed"))!;
        await store.CommitAsync([StoreWrite.Replace(record with { HostKey = await fixture.OtherPublicKeyAsync() })]);

        // WHEN the box is resumed THEN that is refused with a clear error
        var error = await Assert.ThrowsAsync<ShellboxException>(() => runtime.ResumeAsync("instance-spoofed", "volume-spoofed"));
        Assert.Equal("InstanceHostKeyMismatch", error.ErrorId);
        Assert.Contains("pinned", error.Message);

        // AND nothing ran there: with the right key pinned again, the box is found not running and resumes from its state
        var current = (await store.GetAsync<InstanceRecord>("instance-spoofed"))!;
        await store.CommitAsync([StoreWrite.Replace(current with { HostKey = record.HostKey })]);
        Assert.False(await runtime.IsRunningAsync("instance-spoofed", "volume-spoofed"));
        var endpoint = await runtime.ResumeAsync("instance-spoofed", "volume-spoofed");
        Assert.Equal("ok", await RunAsync(endpoint, "echo ok"));
        await runtime.SuspendAsync("instance-spoofed", "volume-spoofed");
    }

    [Fact]
    public async Task A_data_disk_holding_another_volume_is_refused()
    {
        await NewBoxAsync("mine");
        await runtime.SuspendAsync("instance-mine", "volume-mine"); // claims the golden copy as volume-mine

        var error = await Assert.ThrowsAnyAsync<ShellboxException>(() => runtime.ResumeAsync("instance-mine", "volume-theirs"));

        Assert.Equal("VolumeNotAttached", error.ErrorId);
        Assert.Equal(ShellboxErrorKind.Conflict, error.Kind);
        Assert.False(await runtime.IsRunningAsync("instance-mine", "volume-theirs"));
    }

    [Fact]
    public async Task A_box_takes_its_name_as_hostname_when_a_ready_pair_is_claimed_and_keeps_it_across_suspend_and_resume()
    {
        // GIVEN a ready pair: the box resumed before it had a name is called what the golden calls it
        await NewBoxAsync("pair");
        var pair = await runtime.ResumeAsync("instance-pair", "volume-pair");
        Assert.Equal("shellbox", await RunAsync(pair, "hostname"));

        // WHEN a connect claims it as "web" (the box is found running) THEN its guest is called web, now and at a boot
        var claimed = await runtime.ResumeAsync("instance-pair", "volume-pair", "web", CancellationToken.None);
        Assert.Equal("web\nweb", await RunAsync(claimed, "hostname; cat /etc/hostname"));
        await RunAsync(claimed, "hostname renamed-by-hand"); // recorded as done once: a second join does not set it again
        Assert.Equal("renamed-by-hand", await RunAsync(await runtime.ResumeAsync("instance-pair", "volume-pair", "web", CancellationToken.None), "hostname"));

        // AND after a suspend, a resume (the name comes from the connect) gives it its name again
        await runtime.SuspendAsync("instance-pair", "volume-pair");
        var back = await runtime.ResumeAsync("instance-pair", "volume-pair", "web", CancellationToken.None);
        Assert.Equal("web", await RunAsync(back, "hostname"));
        await runtime.SuspendAsync("instance-pair", "volume-pair");
    }

    [Fact]
    public async Task A_fresh_clone_resumed_for_a_named_box_is_rekeyed_with_that_name_and_a_cold_boot_keeps_it()
    {
        // GIVEN a new volume whose record names its box (a returning box's volume), never resumed
        await NewBoxAsync("fresh");
        var now = DateTimeOffset.UtcNow;
        await store.CommitAsync([StoreWrite.Insert(new VolumeRecord { Id = "volume-fresh", Status = ResourceStatuses.Attached, Created = now, LastUsed = now, Golden = fixture.GoldenBuilt.Version, UserId = "u1", BoxName = "dev33" })]);

        // WHEN it is resumed without a name (as reconcile would) THEN the name on its record is used
        var endpoint = await runtime.ResumeAsync("instance-fresh", "volume-fresh");
        Assert.Equal("dev33", await RunAsync(endpoint, "hostname"));

        // AND a cold boot (its saved state lost) boots from /etc/hostname and is named again from the record
        await KillQemuAsync("instance-fresh");
        var booted = await runtime.ColdBootAsync("instance-fresh", "volume-fresh");
        Assert.Equal("dev33\ndev33", await RunAsync(booted, "hostname; cat /etc/hostname"));
        await runtime.SuspendAsync("instance-fresh", "volume-fresh");
    }

    [Fact]
    public async Task A_name_that_is_no_box_name_or_an_unknown_option_is_refused_by_the_agent_in_one_line_and_starts_nothing()
    {
        await NewBoxAsync("badname");
        var address = await InstanceAddressAsync("instance-badname");

        var bad = await fixture.Agent().RunAsync(address, ["resume", "volume-badname", "--box-name", "Bad_Name;reboot"], CommandTimeout);
        var unknown = await fixture.Agent().RunAsync(address, ["resume", "volume-badname", "--boxname", "web"], CommandTimeout);
        var twice = await fixture.Agent().RunAsync(address, ["resume", "volume-badname", "--box-name", "web", "--box-name", "api"], CommandTimeout);

        Assert.Equal(2, bad.ExitCode);
        Assert.StartsWith("BoxNameInvalid: 'Bad_Name;reboot' is not a valid box name", bad.StdErr);
        Assert.Single(bad.StdErr.Trim().Split('\n'));
        Assert.All([unknown, twice], r => Assert.Equal((64, 1), (r.ExitCode, r.StdErr.Trim().Split('\n').Length)));
        Assert.StartsWith("usage: shellbox-agent", unknown.StdErr);

        // build-golden's volume size is checked before anything is built
        var key = (await File.ReadAllTextAsync(fixture.ControlKeyPath + ".pub")).Trim();
        var notANumber = await fixture.Agent().RunAsync(address, ["build-golden", "--control-key", key, "--volume-gib", "32GB"], CommandTimeout);
        var tooSmall = await fixture.Agent().RunAsync(address, ["build-golden", "--control-key", key, "--volume-gib", "1"], CommandTimeout);
        Assert.Equal((2, "VolumeSizeInvalid: --volume-gib must be a whole number of GiB from 1 to 32767, not '32GB'."), (notANumber.ExitCode, notANumber.StdErr.Trim()));
        Assert.Equal((2, "VolumeSizeInvalid: A volume of 1 GiB has no room for a box with 256 MiB of RAM and a disk of at least 1 GiB."), (tooSmall.ExitCode, tooSmall.StdErr.Trim()));
        Assert.False(await runtime.IsRunningAsync("instance-badname", "volume-badname"));
    }

    [Fact]
    public async Task A_running_box_held_for_a_copy_that_fails_goes_on_at_once_and_keeps_nothing_of_the_copy()
    {
        // GIVEN a running box, and a disk copy that fails (ARM refused it) after the box was held still for it
        await NewBoxAsync("held");
        var endpoint = await runtime.ResumeAsync("instance-held", "volume-held");
        await RunAsync(endpoint, BoxCounter.Start);
        var heldSeen = false;
        var failing = new AgentBoxRuntime(store, fixture.Agent(), fixture.ControlKeyPath, copyVolume: async (source, copy, _, ct) =>
        {
            var status = await fixture.Agent().RunAsync(await InstanceAddressAsync("instance-held"), ["status", source], CommandTimeout, ct);
            heldSeen = status.StdOut.Contains($"\"heldForCopy\":\"{copy}\"", StringComparison.Ordinal);
            throw new Core.Errors.ShellboxException(ShellboxErrorKind.Service, "ArmFailed", "the disk copy was refused");
        });

        // WHEN the copy is asked THEN its failure is what is reported
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<ShellboxException>(() => failing.CopyAttachedAsync("instance-held", "volume-held", "volume-heldcopy", new Dictionary<string, string>()));
        Assert.Equal("ArmFailed", error.ErrorId);
        Assert.True(heldSeen, "the disk was copied while the box was not held still");

        // AND the box goes on at once (not when the hold would have run out): running, answering, counting
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"the failed copy took {clock.Elapsed}");
        await BoxCounter.AssertCountingAsync(command => RunAsync(endpoint, command));

        // AND nothing of the copy is left: no saved state on its disk, no hold to release
        Assert.Empty(Directory.EnumerateDirectories(instances.VolumeFolder("volume-held"), ".copy-*"));
        var release = await fixture.Agent().RunAsync(await InstanceAddressAsync("instance-held"), ["release-copy", "volume-held", "volume-heldcopy"], CommandTimeout);
        Assert.Equal((3, "CopyNotHeld"), (release.ExitCode, release.StdErr.Split(':')[0]));
        await runtime.SuspendAsync("instance-held", "volume-held");
    }

    [Fact]
    public async Task A_suspend_in_place_keeps_the_QEMU_stopped_on_the_instance_and_an_agent_older_than_it_suspends_as_always()
    {
        // GIVEN a running box
        await NewBoxAsync("inplace");
        var endpoint = await runtime.ResumeAsync("instance-inplace", "volume-inplace");
        await RunAsync(endpoint, "echo one > /root/file");
        var qemu = QemuPid("instance-inplace");
        Assert.NotNull(qemu);

        // WHEN it is suspended in place (a linger) THEN its QEMU stays; it counts as running, so every release path ends it
        await runtime.SuspendInPlaceAsync("instance-inplace", "volume-inplace", CancellationToken.None);
        Assert.Equal(qemu, QemuPid("instance-inplace"));
        Assert.True(await runtime.IsRunningAsync("instance-inplace", "volume-inplace"));

        // AND a resume continues that QEMU, its clock set
        var again = await runtime.ResumeAsync("instance-inplace", "volume-inplace");
        Assert.Equal(qemu, QemuPid("instance-inplace"));
        Assert.Equal("one", await RunAsync(again, "cat /root/file"));
        var clock = long.Parse(await RunAsync(again, "date +%s"), CultureInfo.InvariantCulture);
        Assert.InRange(clock, DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 5, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 5);

        // AND a plain suspend of a box kept so ends its QEMU (its state was saved already)
        await runtime.SuspendInPlaceAsync("instance-inplace", "volume-inplace", CancellationToken.None);
        await runtime.SuspendAsync("instance-inplace", "volume-inplace");
        Assert.Null(QemuPid("instance-inplace"));
        Assert.False(await runtime.IsRunningAsync("instance-inplace", "volume-inplace"));

        // GIVEN an agent older than --in-place: it answers an option it does not know with its usage, exit 64 (shown with
        // the real agent and an option no version knows)
        var address = await InstanceAddressAsync("instance-inplace");
        var unknown = await fixture.Agent().RunAsync(address, ["suspend", "volume-inplace", "--no-such-option"], CommandTimeout);
        Assert.Equal(64, unknown.ExitCode);
        Assert.StartsWith("usage: shellbox-agent", unknown.StdErr);
        var older = new AgentBoxRuntime(store, new AgentWithoutInPlace(fixture.Agent()), fixture.ControlKeyPath);

        // WHEN its box is suspended in place THEN it is suspended as always: QEMU gone, the box resumes from its volume
        var resumed = await older.ResumeAsync("instance-inplace", "volume-inplace");
        await RunAsync(resumed, "echo two >> /root/file");
        await older.SuspendInPlaceAsync("instance-inplace", "volume-inplace", CancellationToken.None);
        Assert.Null(QemuPid("instance-inplace"));
        Assert.False(await older.IsRunningAsync("instance-inplace", "volume-inplace"));
        Assert.Equal("one\ntwo", await RunAsync(await older.ResumeAsync("instance-inplace", "volume-inplace"), "cat /root/file"));
        await older.SuspendAsync("instance-inplace", "volume-inplace");
    }

    private async Task NewBoxAsync(string name)
    {
        await instances.CreateInstanceAsync($"instance-{name}", new Dictionary<string, string>());
        await instances.CreateVolumeAsync($"volume-{name}", new GoldenSnapshotInfo(fixture.GoldenBuilt.Version, fixture.GoldenDisk, fixture.GoldenBuilt.Created), new Dictionary<string, string>());
        await instances.AttachAsync($"instance-{name}", $"volume-{name}", new Dictionary<string, string>());
    }

    private async Task<string> RunAsync(BoxEndpoint endpoint, string command)
    {
        var result = await runtime.RunAsync(endpoint, command, CommandTimeout);
        Assert.True(result.ExitCode == 0, $"'{command}' exited {result.ExitCode}: {result.StdErr}");
        return result.StdOut.Trim();
    }

    private async Task<InstanceAddress> InstanceAddressAsync(string instanceId)
    {
        var record = (await store.GetAsync<InstanceRecord>(instanceId))!;
        var endpoint = record.Endpoint!.Split(':');
        return new InstanceAddress(endpoint[0], int.Parse(endpoint[1], CultureInfo.InvariantCulture), record.HostKey!);
    }

    private int? QemuPid(string instanceId) => Local.Qemu.QemuProcess.Find(Path.Combine(fixture.Host.AgentHome(instances.VmName(instanceId)), "run"))?.Pid;

    /// <summary>The instance's QEMU dies as in a host crash: SIGKILL, nothing saved.</summary>
    private async Task KillQemuAsync(string instanceId)
    {
        var pid = int.Parse((await File.ReadAllTextAsync(Path.Combine(fixture.Host.AgentHome(instances.VmName(instanceId)), "run", "qemu.pid"))).Trim(), CultureInfo.InvariantCulture);
        using var qemu = System.Diagnostics.Process.GetProcessById(pid);
        qemu.Kill();
        await qemu.WaitForExitAsync();
    }
}

/// <summary>
/// The real agent as a version older than `suspend --in-place` meets that command: as an option it does not know (the
/// real agent's own answer to one, its usage and exit 64).
/// </summary>
internal sealed class AgentWithoutInPlace(IInstanceAgent agent) : IInstanceAgent
{
    public Task<AgentResult> RunAsync(InstanceAddress instance, IReadOnlyList<string> arguments, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        agent.RunAsync(instance, arguments.Select(a => a == "--in-place" ? "--no-such-option" : a).ToList(), timeout, cancellationToken);
}
