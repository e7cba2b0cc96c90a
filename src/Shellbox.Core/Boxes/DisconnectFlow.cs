using Shellbox.Core.Engine;
using Shellbox.Core.Lifecycle;
using Shellbox.Core.Model;
using Shellbox.Core.Ports;
using Shellbox.Core.Store;

namespace Shellbox.Core.Boxes;

/// <summary>
/// Ends one session of a box. Other live sessions keep it running; the last one out suspends it to its
/// volume, then either lingers attached (a reconnect costs no attach) or detaches and frees the instance.
/// A box with a keepalive (<see cref="KeepaliveFlow"/>) is instead left running until it runs out.
/// </summary>
public sealed class DisconnectFlow(ShellboxEngine engine)
{
    /// <summary>Returns what happened: "still in use", "kept alive until ...", "lingering" or "suspended".</summary>
    public Task<string> DisconnectAsync(string boxId, string sessionId, CancellationToken cancellationToken = default) =>
        DisconnectAsync(boxId, sessionId, engine.Settings.Linger, keepAlive: true, cancellationToken);

    /// <param name="linger">How long the box stays attached if this was the last session; zero releases it now (a connect that failed, never kept alive).</param>
    internal Task<string> DisconnectAsync(string boxId, string sessionId, TimeSpan linger, CancellationToken cancellationToken) =>
        DisconnectAsync(boxId, sessionId, linger, keepAlive: false, cancellationToken);

    private async Task<string> DisconnectAsync(string boxId, string sessionId, TimeSpan linger, bool keepAlive, CancellationToken cancellationToken)
    {
        var store = engine.Store;
        var mark = TransitionMark.Start(TransitionAct.Release, sessionId, engine.Time.GetUtcNow());
        var keepaliveCap = keepAlive ? Settings.KeepaliveSettings.From(engine.Settings).Max : TimeSpan.Zero;
        var (box, last) = await ConflictRetry.RunAsync(async () =>
        {
            var now = engine.Time.GetUtcNow();
            var current = await store.GetAsync<BoxRecord>(boxId, cancellationToken).ConfigureAwait(false);
            if (current is null)
            {
                return (null, false);
            }

            var others = current.LiveSessions(now).Where(s => s.Id != sessionId).ToList();
            var isLast = others.Count == 0 && current.InstanceId is not null && current.Mark is null;
            if (isLast && current.Keepalive is { } keepalive && keepaliveCap > TimeSpan.Zero
                && await KeepRunningAsync(current, others, now + (keepalive < keepaliveCap ? keepalive : keepaliveCap), cancellationToken).ConfigureAwait(false) is { } kept)
            {
                return ((BoxRecord?)kept, false);
            }

            mark = TransitionMark.Start(TransitionAct.Release, sessionId, now);
            var written = await store.ReplaceAsync(current with { Sessions = others, Mark = isLast ? mark : current.Mark }, cancellationToken).ConfigureAwait(false);
            return ((BoxRecord?)written, isLast);
        }, cancellationToken).ConfigureAwait(false);

        if (box is { KeptAliveUntil: { } until } && KeepaliveFlow.IsKeptAlive(box, engine.Time.GetUtcNow()))
        {
            return $"kept alive until {until:u}";
        }

        if (box is null || !last)
        {
            // A box attached nowhere with no sessions is already at rest (e.g. a repeated disconnect).
            return box is null ? "gone" : box is { InstanceId: null, Sessions.Count: 0 } ? "suspended" : "still in use";
        }

        try
        {
            if (linger <= TimeSpan.Zero)
            {
                await BoxRelease.ReleaseAsync(engine, boxId, cancellationToken).ConfigureAwait(false);
                return "suspended";
            }

            await SuspendInPlaceAsync(box, linger, cancellationToken).ConfigureAwait(false);
            return "lingering";
        }
        catch
        {
            // Let joiners in again; the instance lease expires and reconcile retries the release.
            await BoxRelease.ClearMarkAsync(engine, boxId, mark).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// The last session out of a box with a keepalive: the box stays running and attached with no session, and its
    /// instance lease runs until the keepalive ends (reconcile then suspends it). Null when the box is not running.
    /// </summary>
    private async Task<BoxRecord?> KeepRunningAsync(BoxRecord box, IReadOnlyList<BoxSession> others, DateTimeOffset until, CancellationToken cancellationToken)
    {
        var instance = await engine.Store.GetAsync<InstanceRecord>(box.InstanceId!, cancellationToken).ConfigureAwait(false);
        if (instance is not { BoxRunning: true })
        {
            return null;
        }

        var written = await engine.Store.CommitAsync(
        [
            StoreWrite.Replace(box with { Sessions = others, KeptAliveUntil = until }),
            StoreWrite.Replace(instance with { Lease = new Lease(box.Id, until, "keepalive"), LastUsed = engine.Time.GetUtcNow() }),
        ], cancellationToken).ConfigureAwait(false);
        return (BoxRecord)written[0];
    }

    /// <summary>Suspend but stay attached until the linger ends; the instance lease then expires and is reclaimed.</summary>
    private async Task SuspendInPlaceAsync(BoxRecord box, TimeSpan linger, CancellationToken cancellationToken)
    {
        var store = engine.Store;
        var instance = await store.GetAsync<InstanceRecord>(box.InstanceId!, cancellationToken).ConfigureAwait(false);
        if (instance is { BoxRunning: true })
        {
            await engine.Runtime.SuspendInPlaceAsync(instance.Id, box.VolumeId, cancellationToken).ConfigureAwait(false);
        }

        CrashPoints.Reach(CrashPoints.DuringSuspend);

        await ConflictRetry.RunAsync(async () =>
        {
            var until = engine.Time.GetUtcNow() + linger;
            var b = await store.GetAsync<BoxRecord>(box.Id, cancellationToken).ConfigureAwait(false);
            var i = await store.GetAsync<InstanceRecord>(box.InstanceId!, cancellationToken).ConfigureAwait(false);
            if (b is null || i is null)
            {
                return;
            }

            await store.CommitAsync(
            [
                StoreWrite.Replace(b with { Mark = null, LingerUntil = until }),
                StoreWrite.Replace(i with { BoxRunning = false, Lease = new Lease(box.Id, until, "linger"), LastUsed = engine.Time.GetUtcNow() }),
            ], cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }
}
