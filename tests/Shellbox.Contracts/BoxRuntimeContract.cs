using Shellbox.Core.Errors;
using Shellbox.Core.Model;
using Shellbox.Core.Ports;

namespace Shellbox.Contracts;

/// <summary>
/// What every <see cref="IBoxRuntime"/> must do, with real boxes: a box resumes from its volume, keeps
/// its disk, its RAM and its running programs across suspend and resume, has its own host key, and is
/// refused (never cold-booted) when its saved state does not fit. An adapter's test class says how to
/// make the provider and how to reach under it for the negative cases.
/// </summary>
public abstract class BoxRuntimeContract
{
    protected static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Infrastructure and runtime over one empty state with a ready golden snapshot and room for three boxes.</summary>
    protected abstract Task<BoxProvider> CreateProviderAsync();

    /// <summary>A runtime over the same state whose machine differs (say, in memory size) from the one that saved the golden.</summary>
    protected abstract IBoxRuntime CreateRuntimeWithOtherMachine(BoxProvider provider);

    /// <summary>Damages the saved device state of a suspended volume in place (it still looks like one at a glance).</summary>
    protected abstract Task CorruptSavedStateAsync(BoxProvider provider, string volumeId);

    /// <summary>A digest of the volume's disk content, to show a refused resume did not write it.</summary>
    protected abstract Task<string> DiskDigestAsync(BoxProvider provider, string volumeId);

    /// <summary>Makes an instance with a fresh volume attached: a box ready to resume.</summary>
    protected static async Task<(string InstanceId, string VolumeId)> NewBoxAsync(BoxProvider provider, string name)
    {
        var instanceId = $"instance-{name}";
        var volumeId = $"volume-{name}";
        await provider.Infrastructure.CreateInstanceAsync(instanceId, new Dictionary<string, string>());
        await provider.Infrastructure.CreateVolumeAsync(volumeId, provider.Golden, new Dictionary<string, string>());
        await provider.Infrastructure.AttachAsync(instanceId, volumeId, new Dictionary<string, string>());
        return (instanceId, volumeId);
    }

    protected static async Task<string> RunAsync(BoxProvider provider, BoxEndpoint endpoint, string command)
    {
        var result = await provider.Runtime.RunAsync(endpoint, command, CommandTimeout);
        Assert.True(result.ExitCode == 0, $"'{command}' exited {result.ExitCode}: {result.StdErr}");
        return result.StdOut.Trim();
    }

    [Fact]
    public async Task A_box_keeps_its_disk_its_memory_and_its_running_programs_across_suspend_and_resume()
    {
        var provider = await CreateProviderAsync();
        var (instance, volume) = await NewBoxAsync(provider, "keep");

        // GIVEN a resumed box with a file on disk, a file in tmpfs and a counter detached from the session
        var endpoint = await provider.Runtime.ResumeAsync(instance, volume);
        Assert.True(await provider.Runtime.IsRunningAsync(instance, volume));
        await RunAsync(provider, endpoint, "echo on-disk > /root/kept; echo in-ram > /tmp/kept; sync");
        await RunAsync(provider, endpoint, "setsid sh -c 'i=0; while :; do i=$((i+1)); echo $i > /tmp/counter; sleep 0.2; done' </dev/null >/dev/null 2>&1 &");
        await Task.Delay(700);
        var before = int.Parse(await RunAsync(provider, endpoint, "cat /tmp/counter"));

        // WHEN it is suspended and resumed
        await provider.Runtime.SuspendAsync(instance, volume);
        Assert.False(await provider.Runtime.IsRunningAsync(instance, volume));
        var resumed = await provider.Runtime.ResumeAsync(instance, volume);

        // THEN everything is still there, the counter goes on from where it was, and the clock is right
        Assert.Equal(endpoint.HostKey, resumed.HostKey);
        Assert.Equal("on-disk", await RunAsync(provider, resumed, "cat /root/kept"));
        Assert.Equal("in-ram", await RunAsync(provider, resumed, "cat /tmp/kept"));
        var after = int.Parse(await RunAsync(provider, resumed, "cat /tmp/counter"));
        // From where it was, not from 1: it ticks every 0.2 s while the box runs, and on a loaded machine the commands
        // around the suspend and resume take seconds of that (CI once saw 17 ticks against a bound of 10).
        Assert.InRange(after, before, before + 60);
        await Task.Delay(700);
        Assert.True(int.Parse(await RunAsync(provider, resumed, "cat /tmp/counter")) > after, "the counter stopped counting after the resume");
        var guestClock = long.Parse(await RunAsync(provider, resumed, "date +%s"));
        Assert.InRange(guestClock, DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 5, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 5);

        await provider.Runtime.SuspendAsync(instance, volume);
    }

    [Fact]
    public async Task A_box_suspended_in_place_goes_on_where_it_was_at_its_resume_and_a_plain_suspend_then_rests_it_on_its_volume()
    {
        var provider = await CreateProviderAsync();
        var (instance, volume) = await NewBoxAsync(provider, "stay");

        // GIVEN a resumed box with a file in tmpfs and a counter detached from the session
        var endpoint = await provider.Runtime.ResumeAsync(instance, volume);
        await RunAsync(provider, endpoint, "echo in-ram > /tmp/kept; setsid sh -c 'i=0; while :; do i=$((i+1)); echo $i > /tmp/counter; sleep 0.2; done' </dev/null >/dev/null 2>&1 &");
        await Task.Delay(700);
        var before = int.Parse(await RunAsync(provider, endpoint, "cat /tmp/counter"));

        // WHEN it is suspended in place (a linger: the runtime may keep its process, stopped) and resumed a while later
        await provider.Runtime.SuspendInPlaceAsync(instance, volume, CancellationToken.None);
        await Task.Delay(6000); // its clock stands still meanwhile: 6 s behind unless the resume sets it
        var resumed = await provider.Runtime.ResumeAsync(instance, volume);

        // THEN it goes on from where it was, under its own host key, with its clock right
        Assert.Equal(endpoint.HostKey, resumed.HostKey);
        Assert.Equal("in-ram", await RunAsync(provider, resumed, "cat /tmp/kept"));
        var after = int.Parse(await RunAsync(provider, resumed, "cat /tmp/counter"));
        Assert.InRange(after, before, before + 60);
        var guestClock = long.Parse(await RunAsync(provider, resumed, "date +%s"));
        Assert.InRange(guestClock, DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 3, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 3);

        // AND suspended in place again, a plain suspend (the linger's end) leaves it at rest, and it resumes from its volume
        await provider.Runtime.SuspendInPlaceAsync(instance, volume, CancellationToken.None);
        await provider.Runtime.SuspendAsync(instance, volume);
        Assert.False(await provider.Runtime.IsRunningAsync(instance, volume));
        var back = await provider.Runtime.ResumeAsync(instance, volume);
        Assert.Equal("in-ram", await RunAsync(provider, back, "cat /tmp/kept"));
        var later = int.Parse(await RunAsync(provider, back, "cat /tmp/counter"));
        await Task.Delay(700);
        Assert.True(int.Parse(await RunAsync(provider, back, "cat /tmp/counter")) > later, "the counter stopped counting after the resume from the volume");
        await provider.Runtime.SuspendAsync(instance, volume);
    }

    [Fact]
    public async Task Three_boxes_from_one_golden_run_at_once_each_with_its_own_host_key()
    {
        var provider = await CreateProviderAsync();
        var boxes = new List<(string Instance, string Volume)>();
        foreach (var name in new[] { "one", "two", "three" })
        {
            boxes.Add(await NewBoxAsync(provider, name));
        }

        var endpoints = await Task.WhenAll(boxes.Select(b => provider.Runtime.ResumeAsync(b.Instance, b.Volume)));

        Assert.Equal(3, endpoints.Select(e => e.HostKey.Split(' ', 2)[1]).Distinct().Count());
        var answers = await Task.WhenAll(endpoints.Select((e, i) => RunAsync(provider, e, $"echo box-{i}")));
        Assert.Equal(["box-0", "box-1", "box-2"], answers);
        foreach (var (instance, volume) in boxes)
        {
            Assert.True(await provider.Runtime.IsRunningAsync(instance, volume));
        }

        await Task.WhenAll(boxes.Select(b => provider.Runtime.SuspendAsync(b.Instance, b.Volume)));
    }

    [Fact]
    public async Task A_host_key_other_than_the_pinned_one_is_refused()
    {
        var provider = await CreateProviderAsync();
        var (instance, volume) = await NewBoxAsync(provider, "pinned");
        var endpoint = await provider.Runtime.ResumeAsync(instance, volume);
        var parts = endpoint.HostKey.Split(' ');
        var otherKey = $"{parts[0]} {parts[1]} AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";

        var error = await Assert.ThrowsAnyAsync<ShellboxException>(() => provider.Runtime.RunAsync(endpoint with { HostKey = otherKey }, "true", CommandTimeout));
        Assert.Equal("HostKeyMismatch", error.ErrorId);

        await provider.Runtime.SuspendAsync(instance, volume);
    }

    [Fact]
    public async Task A_resume_on_another_machine_is_refused_and_leaves_the_state_resumable()
    {
        var provider = await CreateProviderAsync();
        var (instance, volume) = await NewBoxAsync(provider, "machine");

        // Typed, so that a connect can say how to start the box anyway (from its disk).
        var error = await Assert.ThrowsAsync<MachineMismatchException>(() => CreateRuntimeWithOtherMachine(provider).ResumeAsync(instance, volume));

        Assert.Equal(ShellboxErrorKind.User, error.Kind);
        Assert.False(await provider.Runtime.IsRunningAsync(instance, volume));
        var endpoint = await provider.Runtime.ResumeAsync(instance, volume);
        Assert.Equal("ok", await RunAsync(provider, endpoint, "echo ok"));
        await provider.Runtime.SuspendAsync(instance, volume);
    }

    [Fact]
    public async Task A_corrupt_saved_state_is_refused_and_the_disk_is_untouched_and_a_cold_boot_starts_the_box_over_it()
    {
        var provider = await CreateProviderAsync();
        var (instance, volume) = await NewBoxAsync(provider, "corrupt");
        await CorruptSavedStateAsync(provider, volume);
        var disk = await DiskDigestAsync(provider, volume);

        // Typed, so that reconcile can tell a free clone it must delete from a failure worth retrying.
        var error = await Assert.ThrowsAsync<SavedStateCorruptException>(() => provider.Runtime.ResumeAsync(instance, volume));

        Assert.Equal(ShellboxErrorKind.Service, error.Kind);
        Assert.False(await provider.Runtime.IsRunningAsync(instance, volume));
        Assert.Equal(disk, await DiskDigestAsync(provider, volume));

        // AND a cold boot (Connect-ShellboxBox -ColdBoot) starts it from its disk over the refused state
        var booted = await provider.Runtime.ColdBootAsync(instance, volume);
        Assert.Equal("ok", await RunAsync(provider, booted, "echo ok"));
        await provider.Runtime.SuspendAsync(instance, volume);
    }

    [Fact]
    public async Task Suspending_a_suspended_box_changes_nothing()
    {
        var provider = await CreateProviderAsync();
        var (instance, volume) = await NewBoxAsync(provider, "twice");
        await provider.Runtime.SuspendAsync(instance, volume); // never resumed: it already is suspended
        Assert.False(await provider.Runtime.IsRunningAsync(instance, volume));
    }

    [Fact]
    public async Task Resuming_a_volume_that_is_not_attached_to_the_instance_is_refused()
    {
        var provider = await CreateProviderAsync();
        await provider.Infrastructure.CreateInstanceAsync("instance-empty", new Dictionary<string, string>());
        await provider.Infrastructure.CreateVolumeAsync("volume-loose", provider.Golden, new Dictionary<string, string>());

        await Assert.ThrowsAnyAsync<ShellboxException>(() => provider.Runtime.ResumeAsync("instance-empty", "volume-loose"));
        Assert.False(await provider.Runtime.IsRunningAsync("instance-empty", "volume-loose"));
    }
}

/// <summary>One provider's infrastructure and runtime over one state, and the golden its volumes clone.</summary>
public sealed record BoxProvider(IInfrastructure Infrastructure, IBoxRuntime Runtime, GoldenSnapshotInfo Golden);
