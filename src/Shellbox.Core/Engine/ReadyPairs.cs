using Shellbox.Core.Errors;
using Shellbox.Core.Lifecycle;
using Shellbox.Core.Model;
using Shellbox.Core.Ports;
using Shellbox.Core.Store;

namespace Shellbox.Core.Engine;

/// <summary>
/// Makes a ready pair ahead of demand: attach a free volume to a free instance and resume its box, so
/// a new box later costs one conditional write and no provider call.
/// </summary>
internal sealed class ReadyPairs(ShellboxEngine engine, string correlation)
{
    private static readonly TimeSpan ClaimDuration = TimeSpan.FromMinutes(5);

    public async Task<ActionResult> PairAsync(string instanceId, string volumeId, CancellationToken cancellationToken)
    {
        var store = engine.Store;
        var instance = await store.GetAsync<InstanceRecord>(instanceId, cancellationToken).ConfigureAwait(false);
        var volume = await store.GetAsync<VolumeRecord>(volumeId, cancellationToken).ConfigureAwait(false);
        if (instance is not { IsFree: true, VolumeId: null } || volume is not { IsFree: true, InstanceId: null })
        {
            throw new StoreConflictException($"{instanceId}+{volumeId}", "is no longer free to pair");
        }

        // Claim both first (lease + attachment recorded), so a crash mid-way is visible and reclaimable.
        // The lease is this act's mark (owner, expiry): a reclaim undoes a pairing whose holder died.
        var lease = new Lease(ActName(TransitionAct.Pair), engine.Time.GetUtcNow() + ClaimDuration, correlation);
        var pairing = instance with { VolumeId = volumeId, Lease = lease };
        var joining = volume with { InstanceId = instanceId, Lease = lease };
        var claimed = new CommittedRows(await store.CommitAsync([StoreWrite.Replace(pairing), StoreWrite.Replace(joining)], cancellationToken).ConfigureAwait(false));

        try
        {
            await engine.Infrastructure.AttachAsync(instanceId, volumeId, ResourceTags.For(instance), cancellationToken).ConfigureAwait(false);
            await engine.Runtime.ResumeAsync(instanceId, volumeId, cancellationToken).ConfigureAwait(false);
            CrashPoints.Reach(CrashPoints.DuringPair);
            await store.CommitAsync(
            [
                StoreWrite.Replace(claimed.Of(pairing) with { BoxRunning = true, Lease = null, LastUsed = engine.Time.GetUtcNow() }),
                StoreWrite.Replace(claimed.Of(joining) with { Lease = null }),
            ], cancellationToken).ConfigureAwait(false);
            return new(instanceId, $"paired volume {volumeId} with instance {instanceId}; its box is running");
        }
        catch (ShellboxException e) when (e is SavedStateMissingException or SavedStateUnloadableException)
        {
            // A free clone whose box ran once and died with its host (mid-pair) has nothing to resume; one whose saved state
            // is corrupt, or was saved under other machine settings (the operator changed them), cannot be resumed. Handed
            // back free, every later pair of it would fail the same way. It goes (no one's data: it is no box's), the
            // instance is freed, and the pool clones a fresh one.
            await DeleteClaimedVolumeAsync(claimed.Of(pairing), claimed.Of(joining), cancellationToken).ConfigureAwait(false);
            var why = e switch
            {
                SavedStateMissingException => "had lost its saved state",
                SavedStateCorruptException => "has a corrupt saved state",
                _ => "was saved under other machine settings",
            };
            return new(instanceId, $"deleted volume {volumeId} instead of pairing it: its box {why}; freed instance {instanceId}");
        }
        catch (Exception e) when (e is not StoreConflictException)
        {
            await UndoAsync(instanceId, volumeId).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Unpairs one ready pair (oldest first): claim it, suspend its unowned box, detach, and return both
    /// halves to the pool loose. False when there is no ready pair to unpair.
    /// </summary>
    public async Task<bool> UnpairOneAsync(CancellationToken cancellationToken)
    {
        var lease = new Lease(ActName(TransitionAct.Unpair), engine.Time.GetUtcNow() + ClaimDuration, correlation);
        var claimed = await PoolClaims.ClaimFirstAsync(
            engine.Store,
            ct => PoolCandidates.ReadyPairsAsync(engine.Store, ct),
            p =>
            {
                var leased = new ReadyPair(p.Instance with { Lease = lease }, p.Volume with { Lease = lease });
                return new ClaimAttempt<ReadyPair>(
                    [p.Instance, p.Volume],
                    [StoreWrite.Replace(leased.Instance), StoreWrite.Replace(leased.Volume)],
                    rows => new ReadyPair(rows.Of(leased.Instance), rows.Of(leased.Volume)));
            },
            cancellationToken).ConfigureAwait(false);
        if (claimed is null)
        {
            return false;
        }

        var (instance, volume) = (claimed.Instance, claimed.Volume);
        if (!await engine.Runtime.IsRunningAsync(instance.Id, volume.Id, cancellationToken).ConfigureAwait(false))
        {
            // Its box stopped with the host (reconcile has not retired the pair yet): nothing to suspend, and the volume
            // kept no state to hand back; it goes, and the instance is freed all the same.
            await DeleteClaimedVolumeAsync(instance, volume, cancellationToken).ConfigureAwait(false);
            await engine.Store.AppendEventAsync(new PoolEvent(engine.Time.GetUtcNow(), correlation, ActName(TransitionAct.Unpair), ResourceRoles.Instance, instance.Id, true, $"retired the ready pair {instance.Id}+{volume.Id} for a returning box: its box was not running"), cancellationToken).ConfigureAwait(false);
            return true;
        }

        await engine.Runtime.SuspendAsync(instance.Id, volume.Id, cancellationToken).ConfigureAwait(false);
        await engine.Infrastructure.DetachAsync(instance.Id, volume.Id, cancellationToken).ConfigureAwait(false);
        await engine.Store.CommitAsync(
        [
            StoreWrite.Replace(instance with { VolumeId = null, BoxRunning = false, Lease = null }),
            StoreWrite.Replace(volume with { InstanceId = null, Lease = null }),
        ], cancellationToken).ConfigureAwait(false);
        await engine.Store.AppendEventAsync(new PoolEvent(engine.Time.GetUtcNow(), correlation, ActName(TransitionAct.Unpair), ResourceRoles.Instance, instance.Id, true, $"unpaired the ready pair {instance.Id}+{volume.Id} for a returning box"), cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// Retires a ready pair whose box is not running (<see cref="Planning.RetireDeadPair"/>): its volume is marked for
    /// deletion and the instance leased in one write (a connect can no longer claim the pair), then the volume is
    /// detached and deleted and the instance freed. A crash between is finished by reconcile: the instance's lease
    /// expires (reclaimed, detached) and the volume's delete mark (reset: deleted). A box found running again is kept.
    /// </summary>
    public async Task<ActionResult> RetireDeadAsync(string instanceId, string volumeId, CancellationToken cancellationToken)
    {
        var store = engine.Store;
        var instance = await store.GetAsync<InstanceRecord>(instanceId, cancellationToken).ConfigureAwait(false);
        var volume = await store.GetAsync<VolumeRecord>(volumeId, cancellationToken).ConfigureAwait(false);
        if (instance is null || !ReadyPair.IsPair(instance, volume))
        {
            throw new StoreConflictException($"{instanceId}+{volumeId}", "is no longer a ready pair");
        }

        if (await engine.Runtime.IsRunningAsync(instanceId, volumeId, cancellationToken).ConfigureAwait(false))
        {
            return new(instanceId, $"kept the ready pair {instanceId}+{volumeId}: its box runs");
        }

        var now = engine.Time.GetUtcNow();
        var lease = new Lease(ActName(TransitionAct.Unpair), now + ClaimDuration, correlation);
        var claimed = new CommittedRows(await store.CommitAsync(
        [
            StoreWrite.Replace(instance with { Lease = lease }),
            StoreWrite.Replace(volume! with { Status = ResourceStatuses.Deleting, Mark = TransitionMark.Start(TransitionAct.Delete, correlation, now) }),
        ], cancellationToken).ConfigureAwait(false));
        await FinishRetireAsync(claimed.Of(instance), claimed.Of(volume), cancellationToken).ConfigureAwait(false);
        return new(instanceId, $"retired the ready pair {instanceId}+{volumeId}: its box was not running; deleted volume {volumeId}, freed instance {instanceId}");
    }

    /// <summary>
    /// Deletes the volume of a pair this act holds (instance and volume leased) whose box has nothing to resume: the volume
    /// is marked for deletion first (a crash then is finished by reconcile), then <see cref="FinishRetireAsync"/>.
    /// </summary>
    private async Task DeleteClaimedVolumeAsync(InstanceRecord instance, VolumeRecord volume, CancellationToken cancellationToken)
    {
        var marked = new CommittedRows(await engine.Store.CommitAsync(
            [StoreWrite.Replace(volume with { Status = ResourceStatuses.Deleting, Mark = TransitionMark.Start(TransitionAct.Delete, correlation, engine.Time.GetUtcNow()), Lease = null })],
            cancellationToken).ConfigureAwait(false));
        await FinishRetireAsync(instance, marked.Of(volume), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Detaches a retired pair's volume (leased instance, volume marked for deletion), frees the instance, deletes the volume.</summary>
    private async Task FinishRetireAsync(InstanceRecord instance, VolumeRecord volume, CancellationToken cancellationToken)
    {
        CrashPoints.Reach(CrashPoints.DuringRetire);
        var store = engine.Store;
        await engine.Infrastructure.DetachAsync(instance.Id, volume.Id, cancellationToken).ConfigureAwait(false);
        var detached = new CommittedRows(await store.CommitAsync(
        [
            StoreWrite.Replace(instance with { VolumeId = null, BoxRunning = false, Lease = null, LastUsed = engine.Time.GetUtcNow() }),
            StoreWrite.Replace(volume with { InstanceId = null }),
        ], cancellationToken).ConfigureAwait(false));
        await engine.Infrastructure.DeleteVolumeAsync(volume.Id, cancellationToken).ConfigureAwait(false);
        await store.DeleteAsync(detached.Of(volume), cancellationToken).ConfigureAwait(false);
    }

    private static string ActName(TransitionAct act) => act.ToString().ToLowerInvariant();

    private async Task UndoAsync(string instanceId, string volumeId)
    {
        try
        {
            if (await engine.Runtime.IsRunningAsync(instanceId, volumeId, CancellationToken.None).ConfigureAwait(false))
            {
                await engine.Runtime.SuspendAsync(instanceId, volumeId, CancellationToken.None).ConfigureAwait(false);
            }

            await engine.Infrastructure.DetachAsync(instanceId, volumeId, CancellationToken.None).ConfigureAwait(false);
            var instance = await engine.Store.GetAsync<InstanceRecord>(instanceId, CancellationToken.None).ConfigureAwait(false);
            var volume = await engine.Store.GetAsync<VolumeRecord>(volumeId, CancellationToken.None).ConfigureAwait(false);
            if (instance is not null && volume is not null)
            {
                await engine.Store.CommitAsync(
                [
                    StoreWrite.Replace(instance with { VolumeId = null, BoxRunning = false, Lease = null }),
                    StoreWrite.Replace(volume with { InstanceId = null, Lease = null }),
                ], CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is ShellboxException or IOException)
        {
            // The claim's lease expires and reconcile's reclaim finishes the undo.
            Observability.ShellboxLog.Dropped("Shellbox.Core.ReadyPairs", $"undo of pair instance={instanceId} volume={volumeId} failed; reconcile's reclaim finishes it", e);
        }
    }
}
