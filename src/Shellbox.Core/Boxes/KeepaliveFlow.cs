using Shellbox.Core.Engine;
using Shellbox.Core.Errors;
using Shellbox.Core.Model;
using Shellbox.Core.Ports;
using Shellbox.Core.Settings;
using Shellbox.Core.Store;

namespace Shellbox.Core.Boxes;

/// <summary>
/// A box's keepalive: with one set, the last session out leaves the box running (its background jobs go on) for
/// up to that long, then reconcile suspends it (<see cref="Planning.EndKeepalive"/>). It is state on the box
/// record, so it outlives the process that set it; a connect meanwhile joins the running box. Without one (the
/// default) the last session out suspends the box.
/// </summary>
public sealed class KeepaliveFlow(ShellboxEngine engine)
{
    /// <summary>Whether the box runs with no session because of its keepalive.</summary>
    public static bool IsKeptAlive(BoxRecord box, DateTimeOffset now) =>
        box is { InstanceId: not null, Mark: null, KeptAliveUntil: { } until } && until > now && box.LiveSessions(now).Count == 0;

    /// <summary>
    /// Sets (or with null clears) the keepalive of a box. A box kept alive right now gets the new deadline from now
    /// on; cleared, it is suspended at once. A duration above the cap in shellbox.json is refused.
    /// </summary>
    public async Task<BoxView> SetAsync(string userId, string boxName, TimeSpan? duration, CancellationToken cancellationToken = default)
    {
        BoxNames.ValidateUser(userId);
        BoxNames.Validate(boxName);
        var cap = KeepaliveSettings.From(engine.Settings).Max;
        if (duration is { } wanted && (wanted <= TimeSpan.Zero || wanted > cap))
        {
            throw ShellboxException.User(
                "KeepaliveTooLong",
                cap <= TimeSpan.Zero
                    ? "keepalive is turned off on this service."
                    : $"keepalive {KeepaliveDuration.Format(wanted)} is longer than this service allows ({KeepaliveDuration.Format(cap)}).");
        }

        var boxId = BoxRecord.IdFor(userId, boxName);
        var (box, endNow) = await ConflictRetry.RunAsync(async () =>
        {
            var now = engine.Time.GetUtcNow();
            var current = await engine.Store.GetAsync<BoxRecord>(boxId, cancellationToken).ConfigureAwait(false)
                ?? throw ShellboxException.NotFound("BoxNotFound", $"There is no box '{boxName}'.");
            var keptAlive = IsKeptAlive(current, now);
            if (!keptAlive || duration is null)
            {
                var written = await engine.Store.ReplaceAsync(current with { Keepalive = duration }, cancellationToken).ConfigureAwait(false);
                return (written, keptAlive);
            }

            // Kept alive now: the new keepalive runs from now, on the box and on its instance's lease alike.
            var until = now + duration.Value;
            var instance = await engine.Store.GetAsync<InstanceRecord>(current.InstanceId!, cancellationToken).ConfigureAwait(false);
            var rows = new List<StoreWrite> { StoreWrite.Replace(current with { Keepalive = duration, KeptAliveUntil = until }) };
            if (instance?.Lease is { } lease && lease.Holder == boxId)
            {
                rows.Add(StoreWrite.Replace(instance with { Lease = lease with { ExpiresAt = until } }));
            }

            return ((BoxRecord)(await engine.Store.CommitAsync(rows, cancellationToken).ConfigureAwait(false))[0], false);
        }, cancellationToken).ConfigureAwait(false);

        if (endNow)
        {
            // Turned off while nobody is connected: what it kept running is suspended now, as a disconnect would have.
            await BoxRelease.ReleaseIdleAsync(engine, box, engine.Ids.NewCorrelationId(), cancellationToken).ConfigureAwait(false);
        }

        return await new BoxCatalog(engine).GetAsync(userId, boxName, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Reconcile: suspends a box whose keepalive has run out with nobody connected (and releases its instance).
    /// Re-checked on the row as read: a connect that joined since wins.
    /// </summary>
    internal async Task<ActionResult> EndAsync(string boxId, string correlation, CancellationToken cancellationToken)
    {
        var now = engine.Time.GetUtcNow();
        var box = await engine.Store.GetAsync<BoxRecord>(boxId, cancellationToken).ConfigureAwait(false);
        if (box is not { InstanceId: not null, Mark: null, KeptAliveUntil: { } until } || until > now || box.LiveSessions(now).Count > 0)
        {
            return new(boxId, $"box {boxId} is not at the end of a keepalive");
        }

        await BoxRelease.ReleaseIdleAsync(engine, box, correlation, cancellationToken).ConfigureAwait(false);
        return new(boxId, $"suspended box {box.UserId}/{box.BoxName}: its keepalive ended at {until:O} with no session");
    }
}
