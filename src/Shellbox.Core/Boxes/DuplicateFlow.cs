using Shellbox.Core.Engine;
using Shellbox.Core.Errors;
using Shellbox.Core.Lifecycle;
using Shellbox.Core.Model;
using Shellbox.Core.Ports;
using Shellbox.Core.Store;

namespace Shellbox.Core.Boxes;

/// <summary>
/// Forks a box: a new box of the same user whose volume is a copy of the source's disk, RAM and device state,
/// so its files and its running programs are the source's at the moment of the copy. A box at rest is copied by
/// the provider; an attached one by the runtime, which pauses a running box for the copy and lets it go on.
/// The copy rests suspended and gets its own host keys at its first resume.
/// One transition (<see cref="TransitionAct.Duplicate"/>): the copy's box and volume rows are inserted marked,
/// and a source at rest is marked too so no connect resumes it under the copy; the provider copies; one commit
/// settles all. A failure undoes it at once, a crash is undone by reconcile once the marks expire (the partial
/// copy deleted, the source untouched).
/// </summary>
public sealed class DuplicateFlow(ShellboxEngine engine)
{
    public const string EventKind = "duplicate-box";

    private const string BoxRole = Planning.RepairTransition.BoxRole;

    public async Task<BoxView> DuplicateAsync(string userId, string boxName, string newName, CancellationToken cancellationToken = default)
    {
        BoxNames.ValidateUser(userId);
        BoxNames.Validate(boxName);
        BoxNames.Validate(newName);
        var correlation = engine.Ids.NewCorrelationId();
        using var logScope = Observability.ShellboxLog.Correlation(correlation);
        var source = await engine.Store.GetAsync<BoxRecord>(BoxRecord.IdFor(userId, boxName), cancellationToken).ConfigureAwait(false)
            ?? throw ShellboxException.NotFound("BoxNotFound", $"There is no box '{boxName}' to duplicate.");
        var copyId = BoxRecord.IdFor(userId, newName);
        if (newName == boxName || await engine.Store.GetAsync<BoxRecord>(copyId, cancellationToken).ConfigureAwait(false) is not null)
        {
            throw BoxExists(newName);
        }

        // The copy is one more box of the user's (suspended: it does not count as running).
        await new Users.UserQuota(engine).CheckNewBoxAsync(userId, newName, runs: false, correlation, cancellationToken).ConfigureAwait(false);
        if (source.Mark is { } pending)
        {
            if (!pending.IsExpired(engine.Time.GetUtcNow()))
            {
                throw ShellboxException.Service("BoxBusy", $"Box '{boxName}' is being suspended, removed or copied right now; try again shortly.");
            }

            await new TransitionRepair(engine, correlation).RepairBoxAsync(source.Id, cancellationToken).ConfigureAwait(false);
            source = await engine.Store.GetAsync<BoxRecord>(source.Id, cancellationToken).ConfigureAwait(false)
                ?? throw ShellboxException.NotFound("BoxNotFound", $"There is no box '{boxName}' to duplicate.");
        }

        var sourceVolume = await engine.Store.GetAsync<VolumeRecord>(source.VolumeId, cancellationToken).ConfigureAwait(false)
            ?? throw ShellboxException.Service("VolumeLost", $"Box '{boxName}' has no volume record; it cannot be duplicated.");
        var now = engine.Time.GetUtcNow();
        var mark = TransitionMark.Start(TransitionAct.Duplicate, correlation, now);
        var copyVolume = new VolumeRecord
        {
            Id = engine.Ids.NewResourceId(ResourceRoles.Volume),
            Status = ResourceStatuses.Creating,
            Created = now,
            LastUsed = now,
            Golden = sourceVolume.Golden,
            UserId = userId,
            BoxName = newName,
            Mark = mark,
            CopiedFrom = source.VolumeId,
        };
        var copy = new BoxRecord { Id = copyId, UserId = userId, BoxName = newName, VolumeId = copyVolume.Id, Created = now, Mark = mark };

        // A source at rest is marked, conditional on the row as read: a connect that bound it since wins (a conflict),
        // and one arriving now waits until the copy is done. An attached source is guarded by its runtime's run lock.
        var atRest = source.InstanceId is null;
        var writes = new List<StoreWrite> { StoreWrite.Insert(copyVolume), StoreWrite.Insert(copy) };
        if (atRest)
        {
            writes.Add(StoreWrite.Replace(source with { Mark = mark }));
        }

        try
        {
            await engine.Store.CommitAsync(writes, cancellationToken).ConfigureAwait(false);
        }
        catch (StoreConflictException e)
        {
            throw e.Key == $"box/{copyId}"
                ? BoxExists(newName)
                : ShellboxException.Service("BoxBusy", $"Box '{boxName}' was connected to or moved meanwhile; try again.");
        }

        try
        {
            CrashPoints.Reach(CrashPoints.DuringDuplicate);
            var tags = ResourceTags.For(copyVolume with { Status = ResourceStatuses.Suspended });
            if (atRest)
            {
                await engine.Infrastructure.CopyVolumeAsync(source.VolumeId, copyVolume.Id, tags, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await engine.Runtime.CopyAttachedAsync(source.InstanceId!, source.VolumeId, copyVolume.Id, tags, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            // Put everything back now (the partial copy deleted, the source's mark cleared); if even that fails the
            // marks stay and reconcile undoes the rest once they expire.
            try
            {
                await UndoAsync(engine, copyId, mark, CancellationToken.None).ConfigureAwait(false);
                await ClearSourceMarkAsync(source.Id, mark).ConfigureAwait(false);
            }
            catch (Exception undo) when (undo is not OperationCanceledException)
            {
                Observability.ShellboxLog.Dropped("Shellbox.Core.Duplicate", $"undo of the failed duplicate {userId}/{boxName} -> {newName} failed, left to reconcile", undo);
            }

            await engine.Store.AppendEventAsync(new PoolEvent(engine.Time.GetUtcNow(), correlation, EventKind, BoxRole, copyId, false, $"duplicating box {userId}/{boxName} into {newName} failed, nothing kept: {e.Message}"), CancellationToken.None).ConfigureAwait(false);
            throw;
        }

        var settled = await ConflictRetry.RunAsync(async () =>
        {
            var at = engine.Time.GetUtcNow();
            var b = await engine.Store.GetAsync<BoxRecord>(copyId, cancellationToken).ConfigureAwait(false);
            var v = await engine.Store.GetAsync<VolumeRecord>(copyVolume.Id, cancellationToken).ConfigureAwait(false);
            var s = atRest ? await engine.Store.GetAsync<BoxRecord>(source.Id, cancellationToken).ConfigureAwait(false) : null;
            if (b?.Mark != mark || v?.Mark != mark)
            {
                throw ShellboxException.Service("DuplicateLost", $"The copy '{newName}' was undone by reconcile before it finished (it took longer than {TransitionMark.DurationOf(TransitionAct.Duplicate).TotalMinutes:0} minutes); try again.");
            }

            var done = b with { Mark = null };
            var rows = new List<StoreWrite> { StoreWrite.Replace(done), StoreWrite.Replace(v with { Status = ResourceStatuses.Suspended, Mark = null, LastUsed = at }) };
            if (s?.Mark == mark)
            {
                rows.Add(StoreWrite.Replace(s with { Mark = null }));
            }

            return (BoxRecord)(await engine.Store.CommitAsync(rows, cancellationToken).ConfigureAwait(false))[0];
        }, cancellationToken).ConfigureAwait(false);

        await engine.Store.AppendEventAsync(new PoolEvent(engine.Time.GetUtcNow(), correlation, EventKind, BoxRole, copyId, true, $"duplicated box {userId}/{boxName} ({(atRest ? "at rest" : "attached")}) into {newName} on volume {copyVolume.Id}"), cancellationToken).ConfigureAwait(false);
        return new BoxView(settled, BoxCatalog.Suspended, null, 0);
    }

    /// <summary>
    /// Undoes a duplicate whose mark is <paramref name="mark"/> on box <paramref name="boxId"/>: on the copy, its
    /// volume is deleted through the provider's owner check and both rows dropped; on a source, the mark is cleared.
    /// Used by a failed duplicate and by reconcile once the mark has expired. Returns what it did.
    /// </summary>
    internal static async Task<string> UndoAsync(ShellboxEngine engine, string boxId, TransitionMark mark, CancellationToken cancellationToken)
    {
        var box = await engine.Store.GetAsync<BoxRecord>(boxId, cancellationToken).ConfigureAwait(false);
        if (box?.Mark != mark)
        {
            return $"box {boxId} is no longer marked by the duplicate of {mark.Owner}";
        }

        var volume = await engine.Store.GetAsync<VolumeRecord>(box.VolumeId, cancellationToken).ConfigureAwait(false);
        if (volume?.Mark != mark)
        {
            // The source of the copy: it was only marked to keep connects out.
            await engine.Store.ReplaceAsync(box with { Mark = null }, cancellationToken).ConfigureAwait(false);
            return $"cleared the duplicate mark of box {box.UserId}/{box.BoxName} (owner {mark.Owner}); the box is as it was";
        }

        await engine.Infrastructure.DeleteBoxVolumeAsync(volume.Id, box.UserId, box.BoxName, cancellationToken).ConfigureAwait(false);
        await engine.Store.CommitAsync([StoreWrite.Delete(box), StoreWrite.Delete(volume)], cancellationToken).ConfigureAwait(false);
        return $"undid the duplicate into box {box.UserId}/{box.BoxName} (owner {mark.Owner}): its partial volume {volume.Id} deleted";
    }

    private Task ClearSourceMarkAsync(string sourceId, TransitionMark mark) =>
        ConflictRetry.RunAsync(async () =>
        {
            var current = await engine.Store.GetAsync<BoxRecord>(sourceId, CancellationToken.None).ConfigureAwait(false);
            if (current?.Mark == mark)
            {
                await engine.Store.ReplaceAsync(current with { Mark = null }, CancellationToken.None).ConfigureAwait(false);
            }
        }, CancellationToken.None);

    private static ShellboxException BoxExists(string name) =>
        ShellboxException.User("BoxExists", $"Box '{name}' already exists; choose another name for the copy, or remove it first.");
}
