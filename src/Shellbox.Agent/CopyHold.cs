using Shellbox.Core.Errors;
using Shellbox.Local;
using Shellbox.Local.Files;
using Shellbox.Local.Infrastructure;
using Shellbox.Local.Qemu;
using Shellbox.Local.Runtime;

namespace Shellbox.Agent;

/// <summary>
/// Holds the box of the data disk still while the control plane copies that disk (a duplicate of a running box):
/// hold-for-copy pauses a running box, saves its device state beside it (.copy-&lt;copy&gt;/device.state: the
/// box's own volume never gets a state that no longer describes its RAM), flushes its RAM file and disk, says
/// so (status reports heldForCopy), and waits until release-copy says the copy is made; then the box goes on.
/// A box found suspended is held as it rests. The run lock is held throughout, so no suspend or resume
/// changes the disk meanwhile. Whatever happens (the release never comes within the hold's time, the control
/// plane's channel closes, a failure) the box goes on running: only a released hold succeeds. The copy's
/// first resume takes the saved state (<see cref="DataDisk.ClaimCopyAsync"/>); the source drops it at once.
/// </summary>
internal sealed class CopyHold(AgentEnvironment environment, TimeProvider time)
{
    private const string Made = "made\n";
    private const string Abandoned = "abandoned\n";
    private static readonly TimeSpan ReleasePoll = TimeSpan.FromMilliseconds(50);
    private readonly DataDisk disk = new(environment);
    private readonly QemuBox box = new(QemuMachine.Create(environment.MemoryMiB, environment.Accelerator), environment.Options, time);

    /// <summary>The copy a box of this instance is held for right now (status reads it), else null.</summary>
    public static string? HeldFor(AgentEnvironment environment) =>
        File.Exists(HeldFile(environment)) ? File.ReadAllText(HeldFile(environment)).Trim() : null;

    /// <summary>Where the held box's saved state waits for the copy; the copy finds it under its own volume id.</summary>
    public static string StateFolder(string diskFolder, string copyVolumeId) => Path.Combine(diskFolder, $".copy-{copyVolumeId}");

    public async Task<HoldOutput> HoldAsync(string volumeId, string copyVolumeId, TimeSpan holdFor, CancellationToken cancellationToken)
    {
        LocalLayout.CheckName(copyVolumeId, "copy volume id");
        using var _ = await box.RunLockAsync(environment.RunFolder, cancellationToken).ConfigureAwait(false);
        await disk.OpenAsync(volumeId, cancellationToken).ConfigureAwait(false);
        var state = StateFolder(disk.Folder, copyVolumeId);
        File.Delete(ReleaseFile(environment, copyVolumeId));
        var started = time.GetTimestamp();
        try
        {
            // At rest (also a QEMU kept stopped for a linger, after its save): its disk already holds its saved state;
            // nothing may resume it until the copy is made (the run lock is held till then).
            async Task<HoldOutput> AtRestAsync()
            {
                await HeldUntilReleasedAsync(copyVolumeId, holdFor, cancellationToken).ConfigureAwait(false);
                return new HoldOutput(volumeId, copyVolumeId, WasRunning: false, (int)time.GetElapsedTime(started).TotalMilliseconds);
            }

            var run = await QemuRun.FindAsync(environment.RunFolder, cancellationToken).ConfigureAwait(false);
            if (run is null)
            {
                return await AtRestAsync().ConfigureAwait(false);
            }

            await using (run.ConfigureAwait(false))
            {
                if (await QemuBox.IsKeptStoppedAsync(run, disk.Site(volumeId), cancellationToken).ConfigureAwait(false))
                {
                    return await AtRestAsync().ConfigureAwait(false);
                }

                var status = await run.StatusAsync(cancellationToken).ConfigureAwait(false);
                if (status != "running")
                {
                    throw ShellboxException.Service("BoxBusy", $"The box of volume '{volumeId}' is {status}, not running; try the copy again shortly.");
                }

                Directory.CreateDirectory(state);
                await run.CheckpointAsync(
                    Path.Combine(state, LocalFiles.DeviceState),
                    async () =>
                    {
                        // Stopped and its disk flushed by the finished migration; its RAM is in the page cache of the shared mapping.
                        AtomicFile.Sync(Path.Combine(disk.Folder, LocalFiles.Ram));
                        AtomicFile.SyncDirectory(state);
                        await HeldUntilReleasedAsync(copyVolumeId, holdFor, cancellationToken).ConfigureAwait(false);
                    },
                    environment.Options.SuspendTimeout + holdFor,
                    cancellationToken).ConfigureAwait(false);
            }

            return new HoldOutput(volumeId, copyVolumeId, WasRunning: true, (int)time.GetElapsedTime(started).TotalMilliseconds);
        }
        finally
        {
            File.Delete(HeldFile(environment));
            File.Delete(ReleaseFile(environment, copyVolumeId));
            if (Directory.Exists(state))
            {
                Directory.Delete(state, recursive: true); // the copy has it (or, on failure, never will)
            }
        }
    }

    /// <summary>
    /// release-copy: the copy of the held disk is made (or, <paramref name="abandon"/>, will not be: the hold then
    /// fails); either way the hold ends and the box goes on. The control plane abandons a hold whose copy failed
    /// rather than leave the box paused until the hold runs out: closing the hold's channel does not end it.
    /// </summary>
    public ReleaseOutput Release(string volumeId, string copyVolumeId, bool abandon)
    {
        if (HeldFor(environment) != copyVolumeId)
        {
            throw ShellboxException.NotFound("CopyNotHeld", $"The box of volume '{volumeId}' is not held for a copy to '{copyVolumeId}' on this instance.");
        }

        AtomicFile.WriteAllText(ReleaseFile(environment, copyVolumeId), abandon ? Abandoned : Made);
        return new ReleaseOutput(volumeId, copyVolumeId, Made: !abandon);
    }

    private async Task HeldUntilReleasedAsync(string copyVolumeId, TimeSpan holdFor, CancellationToken cancellationToken)
    {
        AtomicFile.WriteAllText(HeldFile(environment), copyVolumeId + "\n");
        var deadline = time.GetUtcNow() + holdFor;
        while (!File.Exists(ReleaseFile(environment, copyVolumeId)))
        {
            if (time.GetUtcNow() >= deadline)
            {
                throw ShellboxException.Service("CopyHoldExpired", $"The copy to '{copyVolumeId}' was not made within {holdFor.TotalSeconds:0} s; the box goes on and the copy is not kept.");
            }

            await Task.Delay(ReleasePoll, time, cancellationToken).ConfigureAwait(false);
        }

        if (File.ReadAllText(ReleaseFile(environment, copyVolumeId)) != Made)
        {
            throw ShellboxException.Service("CopyAbandoned", $"The copy to '{copyVolumeId}' was abandoned by the control plane; the box goes on and the copy is not kept.");
        }
    }

    private static string HeldFile(AgentEnvironment environment) => Path.Combine(environment.RunFolder, "copy-held");

    private static string ReleaseFile(AgentEnvironment environment, string copyVolumeId) => Path.Combine(environment.RunFolder, $"copy-released-{copyVolumeId}");
}
