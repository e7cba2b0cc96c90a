using System.Diagnostics;
using Shellbox.Core.Errors;
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
            (resourceId, var message) = action switch
            {
                CreateResource a when a.Role == ResourceRoles.Instance => await CreateInstanceAsync(cancellationToken).ConfigureAwait(false),
                CreateResource => await CreateVolumeAsync(cancellationToken).ConfigureAwait(false),
                DeleteResource a => await DeleteAsync(a.Role, a.Id, PoolHistory.ScaleDownEvent, cancellationToken).ConfigureAwait(false),
                ResetStuck a => await DeleteAsync(a.Role, a.Id, "reset", cancellationToken).ConfigureAwait(false),
                PairReadyPair a => await new ReadyPairs(engine, correlation).PairAsync(a.InstanceId, a.VolumeId, cancellationToken).ConfigureAwait(false),
                ReclaimLease a => await new LeaseReclaimer(engine, correlation).ReclaimAsync(a.Role, a.Id, cancellationToken).ConfigureAwait(false),
                ForgetGhost a => await ForgetAsync(a.Role, a.Id, cancellationToken).ConfigureAwait(false),
                DeleteOrphan a => await DeleteOrphanAsync(a.Role, a.Id, cancellationToken).ConfigureAwait(false),
                ReportDrift a => (a.Id, a.Describe()),
                MirrorOwner a => await MirrorOwnerAsync(a.Id, cancellationToken).ConfigureAwait(false),
                _ => throw new InvalidOperationException($"No executor for {action.GetType().Name}."),
            };
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

    private async Task<(string?, string)> CreateInstanceAsync(CancellationToken cancellationToken)
    {
        var now = Now;
        var row = await engine.Store.InsertAsync(
            new InstanceRecord { Id = engine.Ids.NewResourceId(ResourceRoles.Instance), Status = ResourceStatuses.Creating, Created = now, LastUsed = now },
            cancellationToken).ConfigureAwait(false);
        try
        {
            var info = await engine.Infrastructure.CreateInstanceAsync(row.Id, ResourceTags.For(row with { Status = ResourceStatuses.Free }), cancellationToken).ConfigureAwait(false);
            await engine.Store.ReplaceAsync(row with { Status = ResourceStatuses.Free, Endpoint = info.Endpoint, HostKey = info.HostKey }, cancellationToken).ConfigureAwait(false);
            return (row.Id, $"created instance {row.Id} ({info.Endpoint})");
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            await UndoCreateAsync(row, () => engine.Infrastructure.DeleteInstanceAsync(row.Id, CancellationToken.None)).ConfigureAwait(false);
            throw;
        }
    }

    private async Task<(string?, string)> CreateVolumeAsync(CancellationToken cancellationToken)
    {
        var golden = await engine.Infrastructure.GetGoldenSnapshotAsync(cancellationToken).ConfigureAwait(false)
            ?? throw ShellboxException.User("GoldenSnapshotMissing", "There is no golden snapshot to clone volumes from; run New-ShellboxGoldenSnapshot first.");
        var now = Now;
        var row = await engine.Store.InsertAsync(
            new VolumeRecord { Id = engine.Ids.NewResourceId(ResourceRoles.Volume), Status = ResourceStatuses.Creating, Created = now, LastUsed = now, Golden = golden.Version },
            cancellationToken).ConfigureAwait(false);
        try
        {
            await engine.Infrastructure.CreateVolumeAsync(row.Id, golden, ResourceTags.For(row with { Status = ResourceStatuses.Free }), cancellationToken).ConfigureAwait(false);
            await engine.Store.ReplaceAsync(row with { Status = ResourceStatuses.Free }, cancellationToken).ConfigureAwait(false);
            return (row.Id, $"created volume {row.Id} from {golden.Version}");
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            await UndoCreateAsync(row, () => engine.Infrastructure.DeleteVolumeAsync(row.Id, CancellationToken.None)).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Best effort: remove what a failed create left; if even that fails, the "creating" row stays for a later reset.</summary>
    private async Task UndoCreateAsync(StoreRecord row, Func<Task> deleteResource)
    {
        try
        {
            await deleteResource().ConfigureAwait(false);
            await engine.Store.DeleteAsync(row, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Reconcile's ResetStuck repairs it after the grace period.
        }
    }

    /// <summary>Marks the row deleting (conditional: a connect that claimed it wins), deletes the resource, then the row.</summary>
    private async Task<(string?, string)> DeleteAsync(string role, string id, string reason, CancellationToken cancellationToken)
    {
        if (role == ResourceRoles.Instance)
        {
            var row = await engine.Store.GetAsync<InstanceRecord>(id, cancellationToken).ConfigureAwait(false);
            if (row is null)
            {
                return (id, $"instance {id} is already gone");
            }

            var marked = await engine.Store.ReplaceAsync(row with { Status = ResourceStatuses.Deleting }, cancellationToken).ConfigureAwait(false);
            await engine.Infrastructure.DeleteInstanceAsync(id, cancellationToken).ConfigureAwait(false);
            await engine.Store.DeleteAsync(marked, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var row = await engine.Store.GetAsync<VolumeRecord>(id, cancellationToken).ConfigureAwait(false);
            if (row is null)
            {
                return (id, $"volume {id} is already gone");
            }

            if (row.IsOwned)
            {
                throw ShellboxException.User("VolumeOwned", $"Volume {id} belongs to {row.UserId}/{row.BoxName}; reconcile never deletes a user's volume.");
            }

            var marked = await engine.Store.ReplaceAsync(row with { Status = ResourceStatuses.Deleting }, cancellationToken).ConfigureAwait(false);
            await engine.Infrastructure.DeleteVolumeAsync(id, cancellationToken).ConfigureAwait(false);
            await engine.Store.DeleteAsync(marked, cancellationToken).ConfigureAwait(false);
        }

        return (id, $"deleted {role} {id} ({reason})");
    }

    private async Task<(string?, string)> ForgetAsync(string role, string id, CancellationToken cancellationToken)
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

        return (id, $"forgot {role} {id}: gone from the provider");
    }

    private async Task<(string?, string)> DeleteOrphanAsync(string role, string id, CancellationToken cancellationToken)
    {
        await (role == ResourceRoles.Instance
            ? engine.Infrastructure.DeleteInstanceAsync(id, cancellationToken)
            : engine.Infrastructure.DeleteVolumeAsync(id, cancellationToken)).ConfigureAwait(false);
        return (id, $"deleted orphan {role} {id}");
    }

    private async Task<(string?, string)> MirrorOwnerAsync(string id, CancellationToken cancellationToken)
    {
        var volume = await engine.Store.GetAsync<VolumeRecord>(id, cancellationToken).ConfigureAwait(false);
        if (volume?.UserId is null)
        {
            return (id, $"volume {id} has no owner any more");
        }

        await engine.Infrastructure.TagVolumeAsync(id, ResourceTags.For(volume), cancellationToken).ConfigureAwait(false);
        return (id, $"tagged volume {id} with its owner {volume.UserId}/{volume.BoxName}");
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
