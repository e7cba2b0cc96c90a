using System.Globalization;
using Shellbox.Core.Errors;
using Shellbox.Core.Model;
using Shellbox.Core.Ports;
using Shellbox.Ssh;

namespace Shellbox.Azure.Runtime;

/// <summary>
/// Boxes on Azure instances. The QEMU side runs on the instance: shellbox-agent, the Local provider's own
/// QEMU/QMP code, reached over SSH with the instance's pinned host key (one call per resume or suspend).
/// What the box then needs over SSH (its clock; at a clone's first resume its own host key, pinned back on
/// the volume through the agent) is done from here with the control key, which never leaves the control
/// plane; commands in the box go from here too, as on Local (<see cref="BoxGuest"/>, <see cref="BoxSsh"/>).
/// </summary>
public sealed class AgentBoxRuntime : IBoxRuntime
{
    // shellbox-agent's exit code for a command line it does not know (src/Shellbox.Agent/AgentExitCodes.cs).
    private const int AgentUsageExitCode = 64;

    private readonly IPoolStore store;
    private readonly IInstanceAgent agent;
    private readonly string controlKeyPath;
    private readonly AgentBoxRuntimeOptions options;
    private readonly TimeProvider time;
    private readonly VolumeCopier? copyVolume;

    /// <param name="store">Where instances' addresses and pinned host keys are (point reads only).</param>
    /// <param name="agent">Runs shellbox-agent on an instance.</param>
    /// <param name="controlKeyPath">The private control key boxes authorize (the golden was built with its public half).</param>
    /// <param name="copyVolume">Copies a volume's managed disk (the infrastructure's CopyVolumeAsync); without it an attached box is not duplicated.</param>
    public AgentBoxRuntime(IPoolStore store, IInstanceAgent agent, string controlKeyPath, AgentBoxRuntimeOptions? options = null, TimeProvider? time = null, VolumeCopier? copyVolume = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(agent);
        ArgumentException.ThrowIfNullOrEmpty(controlKeyPath);
        this.store = store;
        this.agent = agent;
        this.controlKeyPath = controlKeyPath;
        this.options = options ?? new AgentBoxRuntimeOptions();
        this.time = time ?? TimeProvider.System;
        this.copyVolume = copyVolume;
    }

    public Task<BoxEndpoint> ResumeAsync(string instanceId, string volumeId, CancellationToken cancellationToken = default) =>
        ResumeAsync(instanceId, volumeId, null, cancellationToken);

    /// <summary>
    /// Resumes the box and, once it has a name (given here, else the one its volume record holds), gives its guest
    /// that name as hostname: with the clock after a start, or alone for a box found running (a ready pair's,
    /// resumed before it had a name), which the agent then records on the volume so it is done once.
    /// </summary>
    public async Task<BoxEndpoint> ResumeAsync(string instanceId, string volumeId, string? boxName, CancellationToken cancellationToken)
    {
        var instance = await AddressAsync(instanceId, cancellationToken).ConfigureAwait(false);

        // A duplicate's disk still names the volume it was copied from until this first resume claims it.
        var volume = await store.GetAsync<VolumeRecord>(volumeId, cancellationToken).ConfigureAwait(false);
        boxName ??= volume?.BoxName;
        var arguments = new List<string> { "resume", volumeId };
        if (volume?.CopiedFrom is { } copyOf)
        {
            arguments.AddRange(["--copy-of", copyOf]);
        }

        if (boxName is not null)
        {
            arguments.AddRange(["--box-name", boxName]);
        }

        var started = await RunAsync<AgentBoxStart>(instance, arguments, options.ResumeTimeout, cancellationToken).ConfigureAwait(false);

        // A box that was already running had its clock set when it resumed and has kept time since.
        if (started.WasRunning && started.HostKey is { } pinned)
        {
            if (boxName is not null && started.Hostname != boxName
                && await BoxGuest.SetHostnameAsync(Login(started, boxName), pinned, cancellationToken).ConfigureAwait(false))
            {
                await RecordHostnameAsync(instance, volumeId, boxName, cancellationToken).ConfigureAwait(false);
            }

            return Endpoint(started, pinned);
        }

        return await AfterStartAsync(instance, started, boxName, cancellationToken).ConfigureAwait(false);
    }

    public async Task SuspendAsync(string instanceId, string volumeId, CancellationToken cancellationToken = default)
    {
        var instance = await AddressAsync(instanceId, cancellationToken).ConfigureAwait(false);
        await RunAsync<AgentSuspend>(instance, ["suspend", volumeId], options.SuspendTimeout, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Suspends the box to its volume for a linger and has the agent keep its QEMU stopped on the instance after the save
    /// (`suspend --in-place`): a resume within the linger is then a `cont` and the clock, in a guest whose translated code
    /// is still there. An agent older than that answers with its usage (exit 64) and changes nothing; the box is then
    /// suspended as always.
    /// </summary>
    public async Task SuspendInPlaceAsync(string instanceId, string volumeId, CancellationToken cancellationToken)
    {
        var instance = await AddressAsync(instanceId, cancellationToken).ConfigureAwait(false);
        var result = await agent.RunAsync(instance, ["suspend", volumeId, "--in-place"], options.SuspendTimeout, cancellationToken).ConfigureAwait(false);
        if (result.ExitCode == AgentUsageExitCode)
        {
            await RunAsync<AgentSuspend>(instance, ["suspend", volumeId], options.SuspendTimeout, cancellationToken).ConfigureAwait(false);
            return;
        }

        AgentReply.Read<AgentSuspend>(result, "suspend");
    }

    public async Task<BoxEndpoint> ColdBootAsync(string instanceId, string volumeId, CancellationToken cancellationToken = default)
    {
        var instance = await AddressAsync(instanceId, cancellationToken).ConfigureAwait(false);
        var started = await RunAsync<AgentBoxStart>(instance, ["cold-boot", volumeId], options.BootTimeout, cancellationToken).ConfigureAwait(false);
        var boxName = started.BoxName ?? (await store.GetAsync<VolumeRecord>(volumeId, cancellationToken).ConfigureAwait(false))?.BoxName;
        return await AfterStartAsync(instance, started, boxName, cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> IsRunningAsync(string instanceId, string volumeId, CancellationToken cancellationToken = default)
    {
        var record = await store.GetAsync<InstanceRecord>(instanceId, cancellationToken).ConfigureAwait(false);
        if (record is null)
        {
            return false;
        }

        var status = await RunAsync<AgentStatus>(Address(record), ["status", volumeId], options.StatusTimeout, cancellationToken).ConfigureAwait(false);
        return status.Attached && status.Running;
    }

    public Task<BoxCommandResult> RunAsync(BoxEndpoint endpoint, string command, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        return BoxSsh.RunAsync(endpoint.Host, endpoint.Port, endpoint.ControlKeyPath, [HostKeys.FromKnownHostsLine(endpoint.HostKey)], null, command, timeout, cancellationToken);
    }

    /// <summary>
    /// Duplicates the box of a volume attached to the instance: the agent holds the box still (a running one paused,
    /// its device state saved beside it on its disk, RAM file and disk flushed), the managed disk is copied in one ARM
    /// call while it is, then the hold is released and the box goes on (its sessions survive the pause). The copy's
    /// first resume takes the saved state. If anything fails the hold ends, the box goes on and the copy is not kept.
    /// </summary>
    public async Task CopyAttachedAsync(string instanceId, string volumeId, string copyVolumeId, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken = default)
    {
        if (copyVolume is null)
        {
            throw ShellboxException.User("DuplicateRunning", "duplicate a running box: disconnect it first.");
        }

        var instance = await AddressAsync(instanceId, cancellationToken).ConfigureAwait(false);
        using var hold = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var seconds = ((int)Math.Ceiling(options.CopyHoldTimeout.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        var holding = agent.RunAsync(instance, ["hold-for-copy", volumeId, copyVolumeId, "--seconds", seconds], options.SuspendTimeout + options.CopyHoldTimeout, hold.Token);
        try
        {
            await HeldAsync(instance, volumeId, copyVolumeId, holding, cancellationToken).ConfigureAwait(false);
            await copyVolume(volumeId, copyVolumeId, tags, cancellationToken).ConfigureAwait(false);
            await RunAsync<AgentRelease>(instance, ["release-copy", volumeId, copyVolumeId], options.StatusTimeout, cancellationToken).ConfigureAwait(false);
            AgentReply.Read<AgentHold>(await holding.ConfigureAwait(false), "hold-for-copy"); // only a released hold made a consistent copy
        }
        catch
        {
            // The box goes on at once rather than when the hold would run out: the hold is abandoned. Closing the agent's
            // channel alone does not end it (measured: a hold whose channel was closed ran on to its deadline).
            await AbandonHoldAsync(instance, volumeId, copyVolumeId, holding).ConfigureAwait(false);
            await hold.CancelAsync().ConfigureAwait(false);
            try
            {
                await holding.ConfigureAwait(false);
            }
            catch (Exception e) when (e is ShellboxException or OperationCanceledException)
            {
                // the failure that brought us here is the one reported
            }

            throw;
        }
    }

    private async Task AbandonHoldAsync(InstanceAddress instance, string volumeId, string copyVolumeId, Task<AgentResult> holding)
    {
        if (holding.IsCompleted)
        {
            return;
        }

        try
        {
            // Not the caller's token: a cancelled duplicate must still let the box go on.
            await agent.RunAsync(instance, ["release-copy", volumeId, copyVolumeId, "--abandon"], options.StatusTimeout, CancellationToken.None).ConfigureAwait(false);
            await holding.WaitAsync(options.StatusTimeout).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ShellboxException or TimeoutException or OperationCanceledException)
        {
            // the hold still runs out by itself (CopyHoldTimeout)
        }
    }

    /// <summary>Waits until the agent reports the box held for the copy; a hold that ended first reports why.</summary>
    private async Task HeldAsync(InstanceAddress instance, string volumeId, string copyVolumeId, Task<AgentResult> holding, CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() + options.SuspendTimeout;
        while (!holding.IsCompleted)
        {
            var status = await RunAsync<AgentStatus>(instance, ["status", volumeId], options.StatusTimeout, cancellationToken).ConfigureAwait(false);
            if (status.HeldForCopy == copyVolumeId)
            {
                return;
            }

            if (time.GetUtcNow() >= deadline)
            {
                throw ShellboxException.Service("CopyHoldTimeout", $"The box of volume '{volumeId}' was not held still for its copy within {options.SuspendTimeout.TotalSeconds:0} s.");
            }

            await Task.Delay(options.CopyHoldPoll, time, cancellationToken).ConfigureAwait(false);
        }

        var ended = await holding.ConfigureAwait(false);
        throw ended.ExitCode != 0
            ? AgentReply.Error(ended, "hold-for-copy")
            : ShellboxException.Service("CopyHoldEnded", $"shellbox-agent hold-for-copy ended before the copy of volume '{volumeId}' was made.");
    }

    /// <summary>The clock and the hostname, and at a clone's first resume its own host key, pinned on its volume by the agent.</summary>
    private async Task<BoxEndpoint> AfterStartAsync(InstanceAddress instance, AgentBoxStart started, string? boxName, CancellationToken cancellationToken)
    {
        // The box's guest agent did it all on the instance (clock, the name on the volume, a first resume's host key).
        if (started.SettledByAgent && started.HostKey is { } settled && (boxName is null || boxName == started.BoxName))
        {
            return Endpoint(started, settled);
        }

        var hostKey = await BoxGuest.AfterStartAsync(
            Login(started, boxName),
            new BoxHostKeys(started.HostKey, started.GoldenHostKey),
            (key, ct) => RunAsync<AgentPin>(instance, ["pin-host-key", started.VolumeId, key], options.StatusTimeout, ct),
            time.GetUtcNow,
            cancellationToken).ConfigureAwait(false);
        if (boxName is not null && started.Hostname != boxName)
        {
            await RecordHostnameAsync(instance, started.VolumeId, boxName, cancellationToken).ConfigureAwait(false);
        }

        return Endpoint(started, hostKey);
    }

    private Task<AgentHostname> RecordHostnameAsync(InstanceAddress instance, string volumeId, string boxName, CancellationToken cancellationToken) =>
        RunAsync<AgentHostname>(instance, ["hostname", volumeId, boxName], options.StatusTimeout, cancellationToken);

    private BoxLogin Login(AgentBoxStart started, string? boxName) => new(started.VolumeId, started.Host, started.Port, controlKeyPath, boxName);

    private BoxEndpoint Endpoint(AgentBoxStart started, string hostKey) =>
        new(started.Host, started.Port, HostKeys.KnownHostsLine(started.Host, started.Port, hostKey), controlKeyPath);

    private async Task<T> RunAsync<T>(InstanceAddress instance, IReadOnlyList<string> arguments, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var result = await agent.RunAsync(instance, arguments, timeout, cancellationToken).ConfigureAwait(false);
        return AgentReply.Read<T>(result, arguments[0]);
    }

    private async Task<InstanceAddress> AddressAsync(string instanceId, CancellationToken cancellationToken)
    {
        var record = await store.GetAsync<InstanceRecord>(instanceId, cancellationToken).ConfigureAwait(false)
            ?? throw ShellboxException.NotFound("InstanceNotFound", $"There is no instance '{instanceId}' in the pool store.");
        return Address(record);
    }

    /// <summary>The instance's sshd from its record: Endpoint "ip:port" and the host key pinned at creation.</summary>
    private static InstanceAddress Address(InstanceRecord record)
    {
        var endpoint = record.Endpoint ?? "";
        var colon = endpoint.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(endpoint[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            throw ShellboxException.Service("InstanceAddressUnknown", $"Instance '{record.Id}' has no address (\"ip:port\") in the pool store.");
        }

        var hostKey = record.HostKey is { Length: > 0 } key
            ? key
            : throw ShellboxException.Service("InstanceHostKeyUnknown", $"Instance '{record.Id}' has no pinned host key in the pool store; refusing to talk to it.");
        return new InstanceAddress(endpoint[..colon].Trim('[', ']'), port, hostKey);
    }
}

/// <summary>How long each agent call may take on an instance (QEMU time plus the SSH round trip).</summary>
public sealed record AgentBoxRuntimeOptions
{
    public TimeSpan ResumeTimeout { get; init; } = TimeSpan.FromSeconds(90);

    public TimeSpan SuspendTimeout { get; init; } = TimeSpan.FromSeconds(90);

    /// <summary>A cold boot waits for the guest to boot from its disk.</summary>
    public TimeSpan BootTimeout { get; init; } = TimeSpan.FromMinutes(4);

    public TimeSpan StatusTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a box may be held still for a duplicate: the disk copy's ARM call (seconds), with room to spare.</summary>
    public TimeSpan CopyHoldTimeout { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>How often the agent is asked whether the box is held yet (each ask is an SSH round trip).</summary>
    public TimeSpan CopyHoldPoll { get; init; } = TimeSpan.FromMilliseconds(100);
}

/// <summary>Copies a volume's managed disk into a new one tagged <paramref name="tags"/> (the infrastructure's CopyVolumeAsync).</summary>
public delegate Task VolumeCopier(string sourceVolumeId, string copyVolumeId, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken);
