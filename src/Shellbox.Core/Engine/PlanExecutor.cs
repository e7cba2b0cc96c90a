using System.Diagnostics;
using Shellbox.Core.Errors;
using Shellbox.Core.Lifecycle;
using Shellbox.Core.Model;
using Shellbox.Core.Planning;
using Shellbox.Core.Store;

namespace Shellbox.Core.Engine;

/// <summary>
/// Carries out one plan action against the provider and the store. Every slow provider call is
/// bracketed by store writes (a transitional status before, the settled status after), so a crash in
/// between is visible to the next pass. An action that finds its row changed gives up quietly: the
/// next pass plans from the new state.
/// </summary>
internal sealed class PlanExecutor(ShellboxEngine engine, string correlation)
{
    private DateTimeOffset Now => engine.Time.GetUtcNow();

    public async Task<ActionOutcome> ExecuteAsync(PlanAction action, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        string? resourceId = null;
        try
        {
            var result = action switch
            {
                CreateResource a when a.Role == ResourceRoles.Instance => await CreateInstanceAsync(cancellationToken).ConfigureAwait(false),
                CreateResource => await CreateVolumeAsync(cancellationToken).ConfigureAwait(false),
                DeleteResource a => await DeleteAsync(a.Role, a.Id, PoolHistory.ScaleDownEvent, cancellationToken).ConfigureAwait(false),
                ResetStuck a => await ResetAsync(a.Role, a.Id, cancellationToken).ConfigureAwait(false),
                RepairTransition a => await new TransitionRepair(engine, correlation).RepairBoxAsync(a.Id, cancellationToken).ConfigureAwait(false),
                PairReadyPair a => await new ReadyPairs(engine, correlation).PairAsync(a.InstanceId, a.VolumeId, cancellationToken).ConfigureAwait(false),
                RetireDeadPair a => await new ReadyPairs(engine, correlation).RetireDeadAsync(a.InstanceId, a.VolumeId, cancellationToken).ConfigureAwait(false),
                EndKeepalive a => await new Boxes.KeepaliveFlow(engine).EndAsync(a.Id, correlation, cancellationToken).ConfigureAwait(false),
                ReclaimLease a => await new LeaseReclaimer(engine, correlation).ReclaimAsync(a.Role, a.Id, cancellationToken).ConfigureAwait(false),
                ForgetGhost a => await ForgetAsync(a.Role, a.Id, cancellationToken).ConfigureAwait(false),
                DeleteOrphan a => await DeleteOrphanAsync(a.Role, a.Id, cancellationToken).ConfigureAwait(false),
                ReportDrift a => new ActionResult(a.Id, a.Describe()),
                MirrorOwner a => await MirrorOwnerAsync(a.Id, cancellationToken).ConfigureAwait(false),
                _ => throw new InvalidOperationException($"No executor for {action.GetType().Name}."),
            };
            resourceId = result.ResourceId;
            var message = result.Message;
            await RecordAsync(action, resourceId, true, message, cancellationToken).ConfigureAwait(false);
            return new ActionOutcome(action, true, resourceId, message, clock.Elapsed);
        }
        catch (StoreConflictException)
        {
            // Someone (a connect) took the row first: nothing to do, and not a failure.
            var message = $"{action.Describe()}: skipped, the row changed meanwhile";
            return new ActionOutcome(action, true, resourceId, message, clock.Elapsed);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            var message = $"{action.Describe()} failed: {e.Message}";
            await RecordAsync(action, resourceId, false, message, CancellationToken.None).ConfigureAwait(false);
            return new ActionOutcome(action, false, resourceId, message, clock.Elapsed);
        }
    }

    private async Task<ActionResult> CreateInstanceAsync(CancellationToken cancellationToken)
    {
        var now = Now;
        var row = await InsertWithinCapsAsync(
            new InstanceRecord { Id = engine.Ids.NewResourceId(ResourceRoles.Instance), Status = ResourceStatuses.Creating, Created = now, LastUsed = now, Mark = TransitionMark.Start(TransitionAct.Create, correlation, now) },
            cancellationToken).ConfigureAwait(false);
        if (row is null)
        {
            return new(null, $"no instance created: the pool reached {engine.Settings.Pool.MaxTotalInstances} instances meanwhile (connects create too)");
        }

        try
        {
            CrashPoints.Reach(CrashPoints.DuringCreate);
            var info = await engine.Infrastructure.CreateInstanceAsync(row.Id, ResourceTags.For(row with { Status = ResourceStatuses.Free }), cancellationToken).ConfigureAwait(false);
            await engine.Store.ReplaceAsync(row with { Status = ResourceStatuses.Free, Endpoint = info.Endpoint, HostKey = info.HostKey, Mark = null }, cancellationToken).ConfigureAwait(false);
            return new(row.Id, $"created instance {row.Id} ({info.Endpoint})");
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            await UndoCreateAsync(row, () => engine.Infrastructure.DeleteInstanceAsync(row.Id, CancellationToken.None)).ConfigureAwait(false);
            throw;
        }
    }

    private async Task<ActionResult> CreateVolumeAsync(CancellationToken cancellationToken)
    {
        var golden = await engine.Infrastructure.GetGoldenSnapshotAsync(cancellationToken).ConfigureAwait(false)
            ?? throw ShellboxException.User("GoldenSnapshotMissing", "There is no golden snapshot to clone volumes from; run New-ShellboxGoldenSnapshot first.");
        var now = Now;
        var row = await InsertWithinCapsAsync(
            new VolumeRecord { Id = engine.Ids.NewResourceId(ResourceRoles.Volume), Status = ResourceStatuses.Creating, Created = now, LastUsed = now, Golden = golden.Version, Mark = TransitionMark.Start(TransitionAct.Create, correlation, now) },
            cancellationToken).ConfigureAwait(false);
        if (row is null)
        {
            return new(null, $"no volume created: the pool reached {engine.Settings.Pool.MaxTotalVolumes} volumes meanwhile (connects create too)");
        }

        try
        {
            CrashPoints.Reach(CrashPoints.DuringCreate);
            await engine.Infrastructure.CreateVolumeAsync(row.Id, golden, ResourceTags.For(row with { Status = ResourceStatuses.Free }), cancellationToken).ConfigureAwait(false);
            await engine.Store.ReplaceAsync(row with { Status = ResourceStatuses.Free, Mark = null }, cancellationToken).ConfigureAwait(false);
            return new(row.Id, $"created volume {row.Id} from {golden.Version}");
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            await UndoCreateAsync(row, () => engine.Infrastructure.DeleteVolumeAsync(row.Id, CancellationToken.None)).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The planner counted from its snapshot; a connect's slow path may have created since: the guard decides (null: at a cap).</summary>
    private async Task<T?> InsertWithinCapsAsync<T>(T row, CancellationToken cancellationToken)
        where T : StoreRecord
    {
        var outcome = await PoolCapacity.InsertWithinCapsAsync(engine.Store, engine.Settings.Pool, [row], correlation, Now, cancellationToken).ConfigureAwait(false);
        return outcome.AtCapacity ? null : (T)outcome.Inserted[0];
    }

    /// <summary>Best effort: remove what a failed create left; if even that fails, the "creating" row stays for a later reset.</summary>
    private async Task UndoCreateAsync(StoreRecord row, Func<Task> deleteResource)
    {
        try
        {
            await deleteResource().ConfigureAwait(false);
            await engine.Store.DeleteAsync(row, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // The row keeps its create mark; reconcile's ResetStuck undoes it once the mark expires.
            await RecordAsync(new ResetStuck(row.Kind, row.Id), row.Id, false, $"undo of the failed create of {row.Key} failed, left to reconcile: {e.Message}", CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>Marks the row deleting (conditional: a connect that claimed it wins), deletes the resource, then the row.</summary>
    private async Task<ActionResult> DeleteAsync(string role, string id, string reason, CancellationToken cancellationToken)
    {
        if (role == ResourceRoles.Instance)
        {
            var row = await engine.Store.GetAsync<InstanceRecord>(id, cancellationToken).ConfigureAwait(false);
            if (row is null)
            {
                return new(id, $"instance {id} is already gone");
            }

            var marked = await engine.Store.ReplaceAsync(row with { Status = ResourceStatuses.Deleting, Mark = TransitionMark.Start(TransitionAct.Delete, correlation, Now) }, cancellationToken).ConfigureAwait(false);
            CrashPoints.Reach(CrashPoints.DuringDelete);
            await engine.Infrastructure.DeleteInstanceAsync(id, cancellationToken).ConfigureAwait(false);
            await engine.Store.DeleteAsync(marked, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var row = await engine.Store.GetAsync<VolumeRecord>(id, cancellationToken).ConfigureAwait(false);
            if (row is null)
            {
                return new(id, $"volume {id} is already gone");
            }

            if (row.IsOwned)
            {
                throw ShellboxException.User("VolumeOwned", $"Volume {id} belongs to {row.UserId}/{row.BoxName}; reconcile never deletes a user's volume.");
            }

            var marked = await engine.Store.ReplaceAsync(row with { Status = ResourceStatuses.Deleting, Mark = TransitionMark.Start(TransitionAct.Delete, correlation, Now) }, cancellationToken).ConfigureAwait(false);
            CrashPoints.Reach(CrashPoints.DuringDelete);
            await engine.Infrastructure.DeleteVolumeAsync(id, cancellationToken).ConfigureAwait(false);
            await engine.Store.DeleteAsync(marked, cancellationToken).ConfigureAwait(false);
        }

        return new(id, $"deleted {role} {id} ({reason})");
    }

    /// <summary>
    /// A row left "creating" or "deleting" by a holder that crashed or failed: an unowned one is deleted (undoing a
    /// create, finishing a delete); a user's volume is never deleted here, only put back at rest (its box is
    /// attached or suspended, as its instance pointer says). A removal in progress is the box's to repair.
    /// </summary>
    private async Task<ActionResult> ResetAsync(string role, string id, CancellationToken cancellationToken)
    {
        if (role == ResourceRoles.Volume && await engine.Store.GetAsync<VolumeRecord>(id, cancellationToken).ConfigureAwait(false) is { IsOwned: true } owned)
        {
            var status = owned.InstanceId is null ? ResourceStatuses.Suspended : ResourceStatuses.Attached;
            await engine.Store.ReplaceAsync(owned with { Status = status, Mark = null }, cancellationToken).ConfigureAwait(false);
            return new(id, $"put volume {id} of {owned.UserId}/{owned.BoxName} back to {status}: it was left {owned.Status}");
        }

        return await DeleteAsync(role, id, "reset", cancellationToken).ConfigureAwait(false);
    }

    private async Task<ActionResult> ForgetAsync(string role, string id, CancellationToken cancellationToken)
    {
        StoreRecord? row = role == ResourceRoles.Instance
            ? await engine.Store.GetAsync<InstanceRecord>(id, cancellationToken).ConfigureAwait(false)
            : await engine.Store.GetAsync<VolumeRecord>(id, cancellationToken).ConfigureAwait(false);
        if (row is VolumeRecord { IsOwned: true } owned)
        {
            throw ShellboxException.Service("VolumeLost", $"Volume {id} of {owned.UserId}/{owned.BoxName} is gone from the provider; its row is kept for an operator.");
        }

        if (row is not null)
        {
            await engine.Store.DeleteAsync(row, cancellationToken).ConfigureAwait(false);
        }

        return new(id, $"forgot {role} {id}: gone from the provider");
    }

    private async Task<ActionResult> DeleteOrphanAsync(string role, string id, CancellationToken cancellationToken)
    {
        await (role == ResourceRoles.Instance
            ? engine.Infrastructure.DeleteInstanceAsync(id, cancellationToken)
            : engine.Infrastructure.DeleteVolumeAsync(id, cancellationToken)).ConfigureAwait(false);
        return new(id, $"deleted orphan {role} {id}");
    }

    private async Task<ActionResult> MirrorOwnerAsync(string id, CancellationToken cancellationToken)
    {
        var volume = await engine.Store.GetAsync<VolumeRecord>(id, cancellationToken).ConfigureAwait(false);
        if (volume?.UserId is null)
        {
            return new(id, $"volume {id} has no owner any more");
        }

        await engine.Infrastructure.TagVolumeAsync(id, ResourceTags.For(volume), cancellationToken).ConfigureAwait(false);
        return new(id, $"tagged volume {id} with its owner {volume.UserId}/{volume.BoxName}");
    }

    private Task RecordAsync(PlanAction action, string? resourceId, bool succeeded, string message, CancellationToken cancellationToken)
    {
        var kind = action switch
        {
            CreateResource => PoolHistory.CreateEvent,
            DeleteResource => PoolHistory.ScaleDownEvent,
            _ => action.GetType().Name,
        };
        return engine.Store.AppendEventAsync(new PoolEvent(Now, correlation, kind, action.Role, resourceId, succeeded, message), cancellationToken);
    }
}
