using Shellbox.Core.Errors;
using Shellbox.Local.Infrastructure;
using Shellbox.Local.Qemu;
using Shellbox.Local.Runtime;
using Shellbox.Ssh;

namespace Shellbox.Agent;

/// <summary>
/// resume, suspend, cold-boot, status and pin-host-key of the data disk's box, through the Local provider's
/// <see cref="QemuBox"/>. The SSH steps after a start (clock, first rekey) are the control plane's: it holds
/// the control key, the instance never does; it pins the rekeyed host key back here.
/// </summary>
internal sealed class BoxCommands(AgentEnvironment environment, TimeProvider time)
{
    private readonly DataDisk disk = new(environment);
    private readonly QemuBox box = new(QemuMachine.Create(environment.MemoryMiB, environment.Accelerator), environment.Options, time);

    /// <param name="copyOf">The volume this one was duplicated from: a disk still naming it is claimed for <paramref name="volumeId"/>.</param>
    /// <param name="boxName">The box's name once it has one: kept on the volume (as Local's meta.json keeps it); the control plane gives it to the guest as its hostname.</param>
    public async Task<BoxStartOutput> ResumeAsync(string volumeId, CancellationToken cancellationToken, string? copyOf = null, string? boxName = null)
    {
        using var _ = await box.RunLockAsync(environment.RunFolder, cancellationToken).ConfigureAwait(false);
        if (copyOf is not null)
        {
            await disk.ClaimCopyAsync(volumeId, copyOf, cancellationToken).ConfigureAwait(false);
        }

        var meta = await disk.OpenAsync(volumeId, cancellationToken).ConfigureAwait(false);
        if (boxName is not null && meta.BoxName != boxName)
        {
            meta = await disk.UpdateAsync(m => m with { BoxName = boxName }, cancellationToken).ConfigureAwait(false);
        }

        // The guest agent sets the clock and the name (a first resume: the host key too) where the box has one; the
        // control plane logs in over SSH for what it did not do.
        var site = disk.Site(volumeId);
        var started = await box.ResumeAsync(site, meta, new GuestSettle(QemuBox.NewHostname(meta, meta.BoxName)), cancellationToken).ConfigureAwait(false);
        if (!started.WasRunning && !started.SettledByAgent && started.Meta.HostKey is null
            && await box.RekeyThroughAgentAsync(site, started.Meta, BoxGuest.HostnameFor(started.Meta.BoxName), cancellationToken).ConfigureAwait(false) is { } rekeyed)
        {
            started = started with { Meta = rekeyed, SettledByAgent = true };
        }

        return Output(started);
    }

    public async Task<BoxStartOutput> ColdBootAsync(string volumeId, CancellationToken cancellationToken)
    {
        using var _ = await box.RunLockAsync(environment.RunFolder, cancellationToken).ConfigureAwait(false);
        var meta = await disk.OpenAsync(volumeId, cancellationToken).ConfigureAwait(false);
        return Output(await box.ColdBootAsync(disk.Site(volumeId), meta, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>
    /// Suspends the box to its data disk. <paramref name="keepProcess"/> (`--in-place`, a linger): QEMU then stays on the
    /// instance, stopped after the save, so a resume within the linger is a `cont`; a plain suspend ends a QEMU kept so.
    /// </summary>
    public async Task<SuspendOutput> SuspendAsync(string volumeId, bool keepProcess, CancellationToken cancellationToken)
    {
        using var _ = await box.RunLockAsync(environment.RunFolder, cancellationToken).ConfigureAwait(false);
        await disk.OpenAsync(volumeId, cancellationToken).ConfigureAwait(false);
        return new SuspendOutput(volumeId, await box.SuspendAsync(disk.Site(volumeId), keepProcess, cancellationToken).ConfigureAwait(false));
    }

    public StatusOutput Status(string volumeId)
    {
        var meta = disk.Read();
        var attached = DataDisk.Holds(meta, volumeId);
        return new StatusOutput(volumeId, attached, attached && box.IsRunning(disk.Site(volumeId)), attached ? meta!.HostKey : null, attached ? CopyHold.HeldFor(environment) : null);
    }

    /// <summary>Pins the host key a clone made at its first resume; a box pinned to another key keeps it.</summary>
    public async Task<PinOutput> PinHostKeyAsync(string volumeId, string hostKey, CancellationToken cancellationToken)
    {
        var key = HostKeys.FindEd25519(hostKey) ?? throw ShellboxException.User("HostKeyInvalid", "The host key to pin is not an OpenSSH ed25519 public key (\"ssh-ed25519 AAAA...\").");
        await disk.OpenAsync(volumeId, cancellationToken).ConfigureAwait(false);
        var meta = await disk.UpdateAsync(m => m.HostKey is null ? m with { HostKey = key } : m, cancellationToken).ConfigureAwait(false);
        return meta.HostKey == key
            ? new PinOutput(volumeId, key)
            : throw new ShellboxException(ShellboxErrorKind.Conflict, "HostKeyPinned", $"The box of volume '{volumeId}' already has another host key pinned; it is kept.");
    }

    /// <summary>Records that the guest of the volume's box has taken <paramref name="name"/> as its hostname (the control plane set it over SSH).</summary>
    public async Task<HostnameOutput> RecordHostnameAsync(string volumeId, string name, CancellationToken cancellationToken)
    {
        await disk.OpenAsync(volumeId, cancellationToken).ConfigureAwait(false);
        var meta = await disk.UpdateAsync(m => m with { Hostname = name }, cancellationToken).ConfigureAwait(false);
        return new HostnameOutput(volumeId, meta.Hostname!);
    }

    private BoxStartOutput Output(BoxStarted started) =>
        new(started.Meta.VolumeId, environment.BoxAddress, environment.BoxPort, started.Meta.HostKey, started.Meta.GoldenHostKey, started.WasRunning, started.Meta.BoxName, started.Meta.Hostname, started.SettledByAgent);
}
