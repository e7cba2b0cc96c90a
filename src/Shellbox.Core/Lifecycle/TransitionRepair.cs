using Shellbox.Core.Boxes;
using Shellbox.Core.Engine;
using Shellbox.Core.Model;
using Shellbox.Core.Planning;
using Shellbox.Core.Ports;
using Shellbox.Core.Store;

namespace Shellbox.Core.Lifecycle;

/// <summary>
/// Finishes or undoes a box transition whose mark has expired (its holder crashed, or failed and could not undo):
/// a release is finished (suspend if running, detach, free the instance) or, if that fails, undone (the box stays
/// attached and its expired lease is reclaimed later); a removal is finished (the volume deleted through the
/// provider's owner check, both rows dropped) or, if that fails, undone (the box at rest again, nothing lost).
/// Either way the mark is gone after one pass. Run by reconcile, and by a connect that finds such a mark.
/// </summary>
internal sealed class TransitionRepair(ShellboxEngine engine, string correlation)
{
    public async Task<ActionResult> RepairBoxAsync(string boxId, CancellationToken cancellationToken)
    {
        var now = engine.Time.GetUtcNow();
        var box = await engine.Store.GetAsync<BoxRecord>(boxId, cancellationToken).ConfigureAwait(false);
        if (box?.Mark is not { } mark || !mark.IsExpired(now))
        {
            return new(boxId, $"box {boxId} needs no repair");
        }

        try
        {
            var finished = mark.Act switch
            {
                TransitionAct.Remove => await FinishRemoveAsync(box, cancellationToken).ConfigureAwait(false),

                // A copy cut short is undone (its partial volume deleted); a failure is left for the next pass.
                TransitionAct.Duplicate => await DuplicateFlow.UndoAsync(engine, boxId, mark, cancellationToken).ConfigureAwait(false),
                _ => await FinishReleaseAsync(box, cancellationToken).ConfigureAwait(false),
            };
            return new(boxId, finished);
        }
        catch (Exception e) when (e is not OperationCanceledException && e is not Errors.StoreConflictException && mark.Act != TransitionAct.Duplicate)
        {
            await UndoAsync(boxId, mark, cancellationToken).ConfigureAwait(false);
            var undone = $"undid the expired {mark.Act} of box {box.UserId}/{box.BoxName} (owner {mark.Owner}); finishing it failed: {e.Message}";
            await engine.Store.AppendEventAsync(new PoolEvent(engine.Time.GetUtcNow(), correlation, nameof(RepairTransition), RepairTransition.BoxRole, boxId, true, undone), cancellationToken).ConfigureAwait(false);
            return new(boxId, undone);
        }
    }

    private async Task<string> FinishReleaseAsync(BoxRecord box, CancellationToken cancellationToken)
    {
        if (box.InstanceId is not null && box.LiveSessions(engine.Time.GetUtcNow()).Count == 0)
        {
            await BoxRelease.ReleaseAsync(engine, box.Id, cancellationToken).ConfigureAwait(false);
            return $"finished the expired release of box {box.UserId}/{box.BoxName} (owner {box.Mark!.Owner}): suspended and detached";
        }

        // Attached nowhere (nothing left to release), or a live session holds it: the mark is all that is left.
        await UndoAsync(box.Id, box.Mark!, cancellationToken).ConfigureAwait(false);
        return $"cleared the expired release mark of box {box.UserId}/{box.BoxName} (owner {box.Mark!.Owner})";
    }

    private async Task<string> FinishRemoveAsync(BoxRecord box, CancellationToken cancellationToken)
    {
        // The user asked for the removal and the box was refused to connects since: finish it. The provider
        // checks the volume still belongs to this box; a failure here falls back to the undo.
        await engine.Infrastructure.DeleteBoxVolumeAsync(box.VolumeId, box.UserId, box.BoxName, cancellationToken).ConfigureAwait(false);
        var volume = await engine.Store.GetAsync<VolumeRecord>(box.VolumeId, cancellationToken).ConfigureAwait(false);
        var writes = new List<StoreWrite> { StoreWrite.Delete(box) };
        if (volume is not null && volume.UserId == box.UserId && volume.BoxName == box.BoxName)
        {
            writes.Add(StoreWrite.Delete(volume));
        }

        await engine.Store.CommitAsync(writes, cancellationToken).ConfigureAwait(false);
        return $"finished the expired removal of box {box.UserId}/{box.BoxName} (owner {box.Mark!.Owner}): volume {box.VolumeId} deleted";
    }

    /// <summary>Puts the box back as it was before the act: no mark; a volume marked by the removal back at rest.</summary>
    public async Task UndoAsync(string boxId, TransitionMark mark, CancellationToken cancellationToken) =>
        await ConflictRetry.RunAsync(async () =>
        {
            var box = await engine.Store.GetAsync<BoxRecord>(boxId, cancellationToken).ConfigureAwait(false);
            if (box?.Mark != mark)
            {
                return;
            }

            var writes = new List<StoreWrite> { StoreWrite.Replace(box with { Mark = null }) };
            if (mark.Act == TransitionAct.Remove
                && await engine.Store.GetAsync<VolumeRecord>(box.VolumeId, cancellationToken).ConfigureAwait(false) is { Mark.Act: TransitionAct.Remove } volume)
            {
                writes.Add(StoreWrite.Replace(volume with { Status = volume.InstanceId is null ? ResourceStatuses.Suspended : ResourceStatuses.Attached, Mark = null }));
            }

            await engine.Store.CommitAsync(writes, cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
}
