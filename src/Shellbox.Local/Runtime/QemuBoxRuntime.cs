using Shellbox.Core.Errors;
using Shellbox.Core.Ports;
using Shellbox.Core.Settings;
using Shellbox.Local.Infrastructure;
using Shellbox.Local.Qemu;
using Shellbox.Local.Ssh;
using Shellbox.Ssh;

namespace Shellbox.Local.Runtime;

/// <summary>
/// Boxes as QEMU processes on this machine: an instance is a slot whose box answers on a loopback port.
/// The QEMU side is <see cref="QemuBox"/> (which shellbox-agent also runs on an Azure instance); the SSH
/// steps after a start are <see cref="BoxGuest"/>'s, done here since the control key is on this machine.
/// </summary>
public sealed class QemuBoxRuntime : IBoxRuntime
{
    private const string Host = QemuMachine.LoopbackAddress;

    private readonly LocalState state;
    private readonly QemuBox box;
    private readonly TimeProvider time;

    public QemuBoxRuntime(ShellboxSettings settings, LocalProviderOptions? options = null, TimeProvider? time = null)
    {
        options ??= new LocalProviderOptions();
        this.time = time ?? TimeProvider.System;
        state = new LocalState(new LocalLayout(settings, options));
        box = new QemuBox(QemuMachine.Create(LocalProviderSettings.From(settings).MemoryMiB, options.Accelerator), options, this.time);
    }

    /// <summary>The private key the control plane logs in to boxes with.</summary>
    public string ControlKeyPath => state.Layout.ControlKey;

    internal QemuMachine Machine => box.Machine;

    public Task<BoxEndpoint> ResumeAsync(string instanceId, string volumeId, CancellationToken cancellationToken = default) =>
        ResumeAsync(instanceId, volumeId, null, cancellationToken);

    public async Task<BoxEndpoint> ResumeAsync(string instanceId, string volumeId, string? boxName, CancellationToken cancellationToken)
    {
        Attached(instanceId, volumeId);
        using var _ = await box.RunLockAsync(state.Layout.Instance(instanceId), cancellationToken).ConfigureAwait(false);
        var (site, meta) = Attached(instanceId, volumeId); // again under the lock: another process may have just resumed it
        boxName ??= meta.BoxName;
        var started = await box.ResumeAsync(site, meta, new GuestSettle(QemuBox.NewHostname(meta, boxName)), cancellationToken).ConfigureAwait(false);

        // A box that was already running had its clock set when it resumed and has kept time since; a ready
        // pair's box, resumed before it had a name, takes its name now (once).
        if (started.WasRunning && started.Meta.HostKey is { } pinned)
        {
            if (QemuBox.NewHostname(started.Meta, boxName) is { } hostname
                && (await box.SetHostnameThroughAgentAsync(site, started.Meta, hostname, cancellationToken).ConfigureAwait(false)
                    || await BoxGuest.SetHostnameAsync(Login(site, started.Meta, boxName), pinned, cancellationToken).ConfigureAwait(false)))
            {
                await site.UpdateMetaAsync(m => m with { Hostname = boxName }, cancellationToken).ConfigureAwait(false);
            }

            var endpoint = Endpoint(site, pinned);
            await StartMasterAsync(endpoint, onlyIfMissing: true, cancellationToken).ConfigureAwait(false);
            return endpoint;
        }

        return await AfterStartAsync(site, started, boxName, cancellationToken).ConfigureAwait(false);
    }

    public Task SuspendAsync(string instanceId, string volumeId, CancellationToken cancellationToken = default) =>
        SuspendAsync(instanceId, volumeId, keepProcess: false, cancellationToken);

    /// <summary>
    /// Suspends the box to its volume and keeps its QEMU stopped on the instance, with its control master: a resume in
    /// place within the linger is a `cont` and a clock set (no state load), and the user's session rides the master.
    /// The master gives up on the stopped box after its keepalive (45 s); a later resume starts another.
    /// </summary>
    public Task SuspendInPlaceAsync(string instanceId, string volumeId, CancellationToken cancellationToken) =>
        SuspendAsync(instanceId, volumeId, keepProcess: true, cancellationToken);

    private async Task SuspendAsync(string instanceId, string volumeId, bool keepProcess, CancellationToken cancellationToken)
    {
        var (site, meta) = Attached(instanceId, volumeId);
        using var _ = await box.RunLockAsync(site.RunFolder, cancellationToken).ConfigureAwait(false);
        if (!keepProcess && meta.HostKey is { } hostKey)
        {
            // Before the box stops: a master left to a suspended box would hang on it until its keepalive gave up.
            await BoxControlMaster.StopAsync(ControlKeyPath, Endpoint(site, hostKey).HostKey).ConfigureAwait(false);
        }

        await box.SuspendAsync(site, keepProcess, cancellationToken).ConfigureAwait(false);
    }

    public Task<bool> IsRunningAsync(string instanceId, string volumeId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var slot = state.ReadSlot(instanceId);
        return Task.FromResult(slot?.VolumeId == volumeId && QemuProcess.Find(state.Layout.Instance(instanceId)) is not null);
    }

    public Task<BoxCommandResult> RunAsync(BoxEndpoint endpoint, string command, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        BoxSsh.RunAsync(endpoint.Host, endpoint.Port, endpoint.ControlKeyPath, [HostKeys.FromKnownHostsLine(endpoint.HostKey)], null, command, timeout, cancellationToken);

    /// <summary>Copies the box of an attached volume into a new volume (see <see cref="QemuBox.CopyAsync"/>), under the run lock: no suspend or resume meanwhile.</summary>
    public async Task CopyAttachedAsync(string instanceId, string volumeId, string copyVolumeId, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken = default)
    {
        Attached(instanceId, volumeId);
        using var _ = await box.RunLockAsync(state.Layout.Instance(instanceId), cancellationToken).ConfigureAwait(false);
        var (site, meta) = Attached(instanceId, volumeId);
        var copy = new VolumeCopy(state, time);
        var work = copy.Begin(copyVolumeId);
        try
        {
            var wasRunning = await box.CopyAsync(site, work, cancellationToken).ConfigureAwait(false);
            copy.Commit(work, meta, copyVolumeId, tags, wasRunning ? box.MachineFor(meta).Fingerprint : null, wasRunning ? box.MachineFor(meta).Description : null);
        }
        catch
        {
            VolumeCopy.Discard(work);
            throw;
        }
    }

    /// <summary>
    /// Boots the box from its disk because its saved state is known to be lost (see <see cref="QemuBox.ColdBootAsync"/>).
    /// Never called on the resume path.
    /// </summary>
    public Task<BoxEndpoint> ColdBootAsync(string instanceId, string volumeId, CancellationToken cancellationToken = default) =>
        ColdBootAsync(instanceId, volumeId, null, cancellationToken);

    /// <inheritdoc cref="ColdBootAsync(string, string, CancellationToken)"/>
    /// <param name="boxName">The box the connect is for; its hostname after the boot (else the volume's own box name).</param>
    public async Task<BoxEndpoint> ColdBootAsync(string instanceId, string volumeId, string? boxName, CancellationToken cancellationToken)
    {
        Attached(instanceId, volumeId);
        using var _ = await box.RunLockAsync(state.Layout.Instance(instanceId), cancellationToken).ConfigureAwait(false);
        var (site, meta) = Attached(instanceId, volumeId); // again under the lock: another process may have just resumed it
        var started = await box.ColdBootAsync(site, meta, cancellationToken).ConfigureAwait(false);
        return await AfterStartAsync(site, started, boxName ?? started.Meta.BoxName, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The QEMU command line parts for the volume's box on the instance (internal for crash-recovery tests).</summary>
    internal QemuLaunch LaunchFor(string instanceId, string volumeId, bool incoming)
    {
        var (site, meta) = Attached(instanceId, volumeId);
        return box.Launch(site, meta, incoming);
    }

    private async Task<BoxEndpoint> AfterStartAsync(BoxSite site, BoxStarted started, string? boxName, CancellationToken cancellationToken)
    {
        // The box's guest agent set the clock and hostname of a resume (QemuBox), or does a first resume's rekey here; a
        // box without an agent, or whose agent did not answer, and a cold boot of a rekeyed box log in over SSH for it.
        var meta = started.Meta;
        var hostKey = started.SettledByAgent && meta.HostKey is { } pinned
            ? pinned
            : meta.HostKey is null && await box.RekeyThroughAgentAsync(site, meta, BoxGuest.HostnameFor(boxName), cancellationToken).ConfigureAwait(false) is { HostKey: { } made }
            ? made
            : await BoxGuest.AfterStartAsync(
                Login(site, meta, boxName),
                new BoxHostKeys(meta.HostKey, meta.GoldenHostKey),
                (key, ct) => site.UpdateMetaAsync(m => m with { HostKey = key }, ct),
                time.GetUtcNow,
                cancellationToken).ConfigureAwait(false);
        if (boxName is not null && meta.Hostname != boxName)
        {
            await site.UpdateMetaAsync(m => m with { Hostname = boxName }, cancellationToken).ConfigureAwait(false);
        }

        // Only now: the box has its own host key (the first resume rekeys it) and its clock is set. A box continued in
        // place keeps the master it had, when that is still there.
        var endpoint = Endpoint(site, hostKey);
        await StartMasterAsync(endpoint, onlyIfMissing: started.InPlace, cancellationToken).ConfigureAwait(false);
        return endpoint;
    }

    /// <summary>Starts the box's control master in the background; a box works without one, so a failure to start it is no failure of the resume.</summary>
    private static async Task StartMasterAsync(BoxEndpoint endpoint, bool onlyIfMissing, CancellationToken cancellationToken)
    {
        try
        {
            var start = onlyIfMissing ? (Func<string, string, int, string, CancellationToken, Task>)BoxControlMaster.EnsureAsync : BoxControlMaster.StartAsync;
            await start(endpoint.ControlKeyPath, endpoint.Host, endpoint.Port, endpoint.HostKey, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.ComponentModel.Win32Exception)
        {
            // Sessions connect directly.
        }
    }

    private BoxLogin Login(BoxSite site, VolumeMeta meta, string? boxName) => new(meta.VolumeId, site.Address, site.Port, ControlKeyPath, boxName);

    private BoxEndpoint Endpoint(BoxSite site, string hostKey) =>
        new(site.Address, site.Port, HostKeys.KnownHostsLine(site.Address, site.Port, hostKey), ControlKeyPath);

    private (BoxSite Site, VolumeMeta Meta) Attached(string instanceId, string volumeId)
    {
        var slot = state.ReadSlot(instanceId) ?? throw LocalState.InstanceNotFound(instanceId);
        if (slot.VolumeId != volumeId)
        {
            throw new ShellboxException(ShellboxErrorKind.Conflict, "VolumeNotAttached", $"Volume '{volumeId}' is not attached to instance '{instanceId}'.");
        }

        var meta = state.ReadVolume(volumeId) ?? throw LocalState.VolumeNotFound(volumeId);
        var site = new BoxSite(
            instanceId,
            volumeId,
            state.Layout.Volume(volumeId),
            state.Layout.Instance(instanceId),
            Host,
            slot.Port,
            (change, ct) => state.UpdateVolumeAsync(volumeId, change, ct));
        return (site, meta);
    }
}
