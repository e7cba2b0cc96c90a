using Shellbox.Core.Engine;
using Shellbox.Core.Lifecycle;
using Shellbox.Core.Model;
using Shellbox.Core.Ports;
using Shellbox.Core.Store;

namespace Shellbox.Core.Boxes;

/// <summary>
/// Returns an attached box's instance to the pool: suspend the box if it still runs, detach its volume,
/// then one commit frees the instance, rests the volume and unbinds the box. Shared by the last
/// disconnect (no linger), the end of a linger, and the reclaim of a dead session.
/// </summary>
internal static class BoxRelease
{
    /// <summary>
    /// Releases an attached box nobody is connected to (linger or sessions ended, removal). It first marks the
    /// box releasing (<see cref="TransitionAct.Release"/>, owned by <paramref name="correlation"/>), conditional on
    /// the row as read: a connect that joined since wins (a conflict), and one arriving now waits for the release
    /// instead of joining a box being detached under it.
    /// </summary>
    public static async Task<bool> ReleaseIdleAsync(ShellboxEngine engine, BoxRecord box, string correlation, CancellationToken cancellationToken)
    {
        if (box.InstanceId is null || box.LiveSessions(engine.Time.GetUtcNow()).Count > 0)
        {
            return false;
        }

        var mark = TransitionMark.Start(TransitionAct.Release, correlation, engine.Time.GetUtcNow());
        await engine.Store.ReplaceAsync(box with { Mark = mark }, cancellationToken).ConfigureAwait(false);
        try
        {
            await ReleaseAsync(engine, box.Id, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch
        {
            await ClearMarkAsync(engine, box.Id, mark).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>After a failed suspend or release: drop this release's mark and let connects in again (the box is still attached).</summary>
    public static Task ClearMarkAsync(ShellboxEngine engine, string boxId, TransitionMark mark) =>
        ConflictRetry.RunAsync(async () =>
        {
            var current = await engine.Store.GetAsync<BoxRecord>(boxId, CancellationToken.None).ConfigureAwait(false);
            if (current is not null && current.Mark == mark)
            {
                await engine.Store.ReplaceAsync(current with { Mark = null }, CancellationToken.None).ConfigureAwait(false);
            }
        }, CancellationToken.None);

    public static async Task ReleaseAsync(ShellboxEngine engine, string boxId, CancellationToken cancellationToken)
    {
        var box = await engine.Store.GetAsync<BoxRecord>(boxId, cancellationToken).ConfigureAwait(false);
        if (box?.InstanceId is not { } instanceId)
        {
            return;
        }

        var instance = await engine.Store.GetAsync<InstanceRecord>(instanceId, cancellationToken).ConfigureAwait(false);
        // The runtime, not the row, decides: a resume that failed after QEMU started leaves a live box the row
        // calls stopped (detaching under it would corrupt the volume), and a box whose QEMU died (host
        // reboot) cannot be suspended any more; it is detached and cold-booted at its next connect.
        if (instance is not null && await engine.Runtime.IsRunningAsync(instanceId, box.VolumeId, cancellationToken).ConfigureAwait(false))
        {
            await engine.Runtime.SuspendAsync(instanceId, box.VolumeId, cancellationToken).ConfigureAwait(false);
        }

        CrashPoints.Reach(CrashPoints.DuringSuspend);
        await engine.Infrastructure.DetachAsync(instanceId, box.VolumeId, cancellationToken).ConfigureAwait(false);
        await ConflictRetry.RunAsync(async () =>
        {
            var now = engine.Time.GetUtcNow();
            var b = await engine.Store.GetAsync<BoxRecord>(boxId, cancellationToken).ConfigureAwait(false);
            var i = await engine.Store.GetAsync<InstanceRecord>(instanceId, cancellationToken).ConfigureAwait(false);
            var v = await engine.Store.GetAsync<VolumeRecord>(box.VolumeId, cancellationToken).ConfigureAwait(false);
            var writes = new List<StoreWrite>();
            if (b is not null)
            {
                writes.Add(StoreWrite.Replace(b with { InstanceId = null, Sessions = [], Mark = null, LingerUntil = null, KeptAliveUntil = null }));
            }

            if (i is not null)
            {
                writes.Add(StoreWrite.Replace(i with { Status = ResourceStatuses.Free, VolumeId = null, BoxRunning = false, Lease = null, LastUsed = now }));
            }

            if (v is not null)
            {
                writes.Add(StoreWrite.Replace(v with { Status = ResourceStatuses.Suspended, InstanceId = null, Lease = null, LastUsed = now }));
            }

            await engine.Store.CommitAsync(writes, cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }
}
