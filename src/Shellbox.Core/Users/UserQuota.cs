using Shellbox.Core.Engine;
using Shellbox.Core.Errors;
using Shellbox.Core.Model;

namespace Shellbox.Core.Users;

/// <summary>
/// Enforces shellbox.json's per-user quotas before a box is created or resumed. Reads only the user's own
/// boxes (the store's key-range read), never the whole store. The check comes before the claim, so two
/// creates of the same user at the same instant may both pass: a quota bounds a user, it is not a lock.
/// </summary>
public sealed class UserQuota(ShellboxEngine engine)
{
    /// <summary>A new box is about to be made: by spinup (<paramref name="runs"/> false) or by a connect, which also runs it.</summary>
    public async Task CheckNewBoxAsync(string userId, string boxName, bool runs, string correlationId, CancellationToken cancellationToken = default)
    {
        var quotas = engine.Settings.Quotas;
        if (quotas.Boxes is null && (!runs || quotas.RunningBoxes is null))
        {
            return;
        }

        var boxes = await engine.Store.ListBoxesAsync(userId, cancellationToken).ConfigureAwait(false);
        if (quotas.Boxes is { } maxBoxes && boxes.Count >= maxBoxes)
        {
            throw await ExceededAsync(userId, boxName, correlationId, "BoxQuotaExceeded",
                $"quota: you have {boxes.Count} of {maxBoxes} boxes; remove one with: ssh HOST remove NAME", cancellationToken).ConfigureAwait(false);
        }

        if (runs)
        {
            await CheckRunningAsync(userId, boxName, boxes, correlationId, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>A suspended box is about to be resumed. Joining a box that already runs is never refused.</summary>
    public async Task CheckResumeAsync(BoxRecord box, string correlationId, CancellationToken cancellationToken = default)
    {
        if (engine.Settings.Quotas.RunningBoxes is null)
        {
            return;
        }

        var boxes = await engine.Store.ListBoxesAsync(box.UserId, cancellationToken).ConfigureAwait(false);
        await CheckRunningAsync(box.UserId, box.BoxName, boxes, correlationId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A box counts as running while it is on an instance (connected, or lingering before it is detached).</summary>
    private async Task CheckRunningAsync(string userId, string boxName, IReadOnlyList<BoxRecord> boxes, string correlationId, CancellationToken cancellationToken)
    {
        var running = boxes.Count(b => b.InstanceId is not null && b.BoxName != boxName);
        if (engine.Settings.Quotas.RunningBoxes is { } maxRunning && running >= maxRunning)
        {
            throw await ExceededAsync(userId, boxName, correlationId, "RunningQuotaExceeded",
                $"quota: you have {running} of {maxRunning} boxes running; leave one (the last session out suspends it) and try again", cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The user gets one line; the operator finds the refusal in the events.</summary>
    private async Task<ShellboxException> ExceededAsync(string userId, string boxName, string correlationId, string errorId, string message, CancellationToken cancellationToken)
    {
        await engine.Store.AppendEventAsync(new PoolEvent(engine.Time.GetUtcNow(), correlationId, "quota", UserRecord.KindName, userId, false, $"box {userId}/{boxName} refused: {message}"), cancellationToken).ConfigureAwait(false);
        return ShellboxException.User(errorId, message);
    }
}
