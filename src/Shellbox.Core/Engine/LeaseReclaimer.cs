using Shellbox.Core.Boxes;
using Shellbox.Core.Model;
using Shellbox.Core.Ports;
using Shellbox.Core.Store;

namespace Shellbox.Core.Engine;

/// <summary>
/// Takes back what a dead holder left: a box whose sessions stopped beating (or whose linger ended) is
/// suspended and detached; a half-done claim (a pairing or connect that died) is undone.
/// </summary>
internal sealed class LeaseReclaimer(ShellboxEngine engine, string correlation)
{
    public async Task<ActionResult> ReclaimAsync(string role, string id, CancellationToken cancellationToken)
    {
        var now = engine.Time.GetUtcNow();
        if (role == ResourceRoles.Volume)
        {
            var volume = await engine.Store.GetAsync<VolumeRecord>(id, cancellationToken).ConfigureAwait(false);
            if (volume?.Lease is { } l && l.IsExpired(now))
            {
                await engine.Store.ReplaceAsync(volume with { Lease = null }, cancellationToken).ConfigureAwait(false);
            }

            return new(id, $"reclaimed volume {id}");
        }

        var instance = await engine.Store.GetAsync<InstanceRecord>(id, cancellationToken).ConfigureAwait(false);
        if (instance?.Lease is not { } lease || !lease.IsExpired(now))
        {
            return new(id, $"instance {id} needs no reclaim");
        }

        var snapshot = await engine.Store.ReadSnapshotAsync(cancellationToken).ConfigureAwait(false);
        var box = snapshot.Boxes.FirstOrDefault(b => b.InstanceId == id);
        if (box is not null)
        {
            if (box.LiveSessions(now).Count > 0)
            {
                return new(id, $"instance {id} has live sessions");
            }

            await BoxRelease.ReleaseIdleAsync(engine, box, correlation, cancellationToken).ConfigureAwait(false);
            return new(id, $"released box {box.UserId}/{box.BoxName} from instance {id} (sessions or linger ended)");
        }

        // A pairing or a connect died half way: undo the attachment, keep the volume as a free clone.
        if (instance.VolumeId is { } volumeId)
        {
            // The runtime says whether the box runs, not the row: after a host restart the row still says running, and
            // a suspend of a box that died would fail on every pass (nothing to save), leaving the instance leased.
            if (await engine.Runtime.IsRunningAsync(id, volumeId, cancellationToken).ConfigureAwait(false))
            {
                await engine.Runtime.SuspendAsync(id, volumeId, cancellationToken).ConfigureAwait(false);
            }

            await engine.Infrastructure.DetachAsync(id, volumeId, cancellationToken).ConfigureAwait(false);
            var volume = await engine.Store.GetAsync<VolumeRecord>(volumeId, cancellationToken).ConfigureAwait(false);
            var writes = new List<StoreWrite> { StoreWrite.Replace(instance with { Status = ResourceStatuses.Free, VolumeId = null, BoxRunning = false, Lease = null, LastUsed = now }) };
            if (volume is not null)
            {
                // A volume marked for deletion (a retired ready pair's) stays so: reconcile's reset deletes it.
                var status = volume.Mark?.Act == Lifecycle.TransitionAct.Delete ? volume.Status : volume.IsOwned ? ResourceStatuses.Suspended : ResourceStatuses.Free;
                writes.Add(StoreWrite.Replace(volume with { InstanceId = null, Lease = null, Status = status }));
            }

            await engine.Store.CommitAsync(writes, cancellationToken).ConfigureAwait(false);
            return new(id, $"undid the half-done attachment of volume {volumeId} to instance {id}");
        }

        await engine.Store.ReplaceAsync(instance with { Status = ResourceStatuses.Free, Lease = null }, cancellationToken).ConfigureAwait(false);
        return new(id, $"freed instance {id}");
    }

    /// <summary>Reclaims every expired instance lease now; returns how many were released.</summary>
    public async Task<int> ReclaimExpiredAsync(CancellationToken cancellationToken)
    {
        var now = engine.Time.GetUtcNow();
        var snapshot = await engine.Store.ReadSnapshotAsync(cancellationToken).ConfigureAwait(false);
        var count = 0;
        foreach (var instance in snapshot.Instances.Where(i => i.Lease is { } l && l.IsExpired(now)))
        {
            try
            {
                await ReclaimAsync(ResourceRoles.Instance, instance.Id, cancellationToken).ConfigureAwait(false);
                await engine.Store.AppendEventAsync(new PoolEvent(now, correlation, nameof(Planning.ReclaimLease), ResourceRoles.Instance, instance.Id, true, "reclaimed on demand by a connect"), cancellationToken).ConfigureAwait(false);
                Observability.ShellboxMetrics.RecordLeaseReclaim(ResourceRoles.Instance, "connect");
                count++;
            }
            catch (Errors.StoreConflictException e)
            {
                // Someone else reclaimed or joined it meanwhile.
                Observability.ShellboxLog.Dropped("Shellbox.Core.Reclaim", $"instance={instance.Id} was reclaimed or joined by another caller first", e, routine: true);
            }
        }

        return count;
    }

    /// <summary>
    /// Releases the lingering box whose linger ends first (no sessions, nothing under way) before its time, for a connect
    /// that found nothing free; returns its user/name, or null when no box lingers (or it was joined meanwhile).
    /// </summary>
    public async Task<string?> EndOneLingerAsync(CancellationToken cancellationToken)
    {
        var now = engine.Time.GetUtcNow();
        var snapshot = await engine.Store.ReadSnapshotAsync(cancellationToken).ConfigureAwait(false);
        var box = snapshot.Boxes
            .Where(b => b is { InstanceId: not null, LingerUntil: not null, Mark: null } && b.LiveSessions(now).Count == 0)
            .OrderBy(b => b.LingerUntil)
            .FirstOrDefault();
        if (box is null)
        {
            return null;
        }

        try
        {
            if (!await BoxRelease.ReleaseIdleAsync(engine, box, correlation, cancellationToken).ConfigureAwait(false))
            {
                return null;
            }
        }
        catch (Errors.StoreConflictException e)
        {
            // Its user reconnected (or reconcile released it) meanwhile.
            Observability.ShellboxLog.Dropped("Shellbox.Core.Reclaim", $"box={box.Id} was joined or released by another caller first", e, routine: true);
            return null;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The box stays lingering (its mark was undone); the connect goes on as if nothing lingered.
            Observability.ShellboxLog.Dropped("Shellbox.Core.Reclaim", $"ending the linger of box={box.Id} early failed", e);
            return null;
        }

        var name = $"{box.UserId}/{box.BoxName}";
        await engine.Store.AppendEventAsync(new PoolEvent(now, correlation, nameof(Planning.ReclaimLease), ResourceRoles.Instance, box.InstanceId!, true, $"ended the linger of box {name} early: a connect found nothing free"), cancellationToken).ConfigureAwait(false);
        Observability.ShellboxMetrics.RecordLeaseReclaim(ResourceRoles.Instance, "connect");
        return name;
    }
}
