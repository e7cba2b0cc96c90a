using Shellbox.Core.Engine;
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
    public static async Task ReleaseAsync(ShellboxEngine engine, string boxId, CancellationToken cancellationToken)
    {
        var box = await engine.Store.GetAsync<BoxRecord>(boxId, cancellationToken).ConfigureAwait(false);
        if (box?.InstanceId is not { } instanceId)
        {
            return;
        }

        var instance = await engine.Store.GetAsync<InstanceRecord>(instanceId, cancellationToken).ConfigureAwait(false);
        if (instance is not null && instance.BoxRunning)
        {
            await engine.Runtime.SuspendAsync(instanceId, box.VolumeId, cancellationToken).ConfigureAwait(false);
        }

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
                writes.Add(StoreWrite.Replace(b with { InstanceId = null, Sessions = [], Suspending = false, LingerUntil = null }));
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
