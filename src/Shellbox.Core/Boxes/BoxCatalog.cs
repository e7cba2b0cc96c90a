using Shellbox.Core.Engine;
using Shellbox.Core.Errors;
using Shellbox.Core.Model;
using Shellbox.Core.Ports;
using Shellbox.Core.Store;

namespace Shellbox.Core.Boxes;

/// <summary>A box as a user sees it, with its state derived from the store.</summary>
public sealed record BoxView(BoxRecord Box, string State, string? InstanceId, int Sessions);

/// <summary>Lists, creates (spinup) and removes boxes. Connecting is <see cref="ConnectFlow"/>.</summary>
public sealed class BoxCatalog(ShellboxEngine engine)
{
    public const string Running = "running";
    public const string Lingering = "lingering";
    public const string Suspended = "suspended";

    /// <summary>
    /// One user's boxes (a range read of the store, plus a point read per attached box), or with a null user
    /// everyone's (an operator's view: the whole store).
    /// </summary>
    public async Task<IReadOnlyList<BoxView>> ListAsync(string? userId, CancellationToken cancellationToken = default)
    {
        var now = engine.Time.GetUtcNow();
        if (userId is null)
        {
            var snapshot = await engine.Store.ReadSnapshotAsync(cancellationToken).ConfigureAwait(false);
            var running = snapshot.Instances.Where(i => i.BoxRunning).Select(i => i.Id).ToHashSet(StringComparer.Ordinal);
            return snapshot.Boxes
                .OrderBy(b => b.UserId, StringComparer.Ordinal).ThenBy(b => b.BoxName, StringComparer.Ordinal)
                .Select(b => View(b, b.InstanceId is { } i && running.Contains(i), now))
                .ToList();
        }

        var views = new List<BoxView>();
        foreach (var box in await engine.Store.ListBoxesAsync(userId, cancellationToken).ConfigureAwait(false))
        {
            views.Add(await ViewAsync(box, now, cancellationToken).ConfigureAwait(false));
        }

        return views;
    }

    /// <summary>One box by point reads: the box, and its instance when it is attached.</summary>
    public async Task<BoxView> GetAsync(string userId, string boxName, CancellationToken cancellationToken = default)
    {
        BoxNames.Validate(boxName);
        var box = await engine.Store.GetAsync<BoxRecord>(BoxRecord.IdFor(userId, boxName), cancellationToken).ConfigureAwait(false)
            ?? throw ShellboxException.NotFound("BoxNotFound", $"There is no box '{boxName}' for user '{userId}'.");
        return await ViewAsync(box, engine.Time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Spinup: binds a free volume (a golden clone) to a new box without connecting. No provider call.</summary>
    public async Task<BoxView> CreateAsync(string userId, string boxName, CancellationToken cancellationToken = default)
    {
        BoxNames.ValidateUser(userId);
        BoxNames.Validate(boxName);
        var boxId = BoxRecord.IdFor(userId, boxName);
        if (await engine.Store.GetAsync<BoxRecord>(boxId, cancellationToken).ConfigureAwait(false) is not null)
        {
            throw ShellboxException.User("BoxExists", $"Box '{boxName}' already exists; connect to it, or remove it first.");
        }

        try
        {
            return await ClaimVolumeAsync(userId, boxName, cancellationToken).ConfigureAwait(false);
        }
        catch (ShellboxException e) when (e.ErrorId == "PoolExhausted")
        {
            // No loose volume but a ready pair: break it up (suspend its unowned box, detach) and use its volume.
            if (!await new ReadyPairs(engine, engine.Ids.NewCorrelationId()).DissolveOneAsync(cancellationToken).ConfigureAwait(false))
            {
                throw;
            }
        }

        return await ClaimVolumeAsync(userId, boxName, cancellationToken).ConfigureAwait(false);
    }

    private async Task<BoxView> ClaimVolumeAsync(string userId, string boxName, CancellationToken cancellationToken)
    {
        var boxId = BoxRecord.IdFor(userId, boxName);
        try
        {
            var box = await PoolClaims.ClaimFirstAsync(
                engine.Store,
                ct => PoolCandidates.LooseVolumesAsync(engine.Store, ct),
                v =>
                {
                    var now = engine.Time.GetUtcNow();
                    var owned = v with { Status = ResourceStatuses.Suspended, UserId = userId, BoxName = boxName, LastUsed = now };
                    var created = new BoxRecord { Id = boxId, UserId = userId, BoxName = boxName, VolumeId = v.Id, Created = now };
                    return new ClaimAttempt<BoxRecord>([v], [StoreWrite.Replace(owned), StoreWrite.Insert(created)], rows => rows.Of(created));
                },
                cancellationToken).ConfigureAwait(false);
            if (box is null)
            {
                // A rival that created the box first makes the insert conflict, caught below.
                throw ShellboxException.Service("PoolExhausted", "No free volume is available right now; the pool is refilling, try again in a minute.");
            }

            return new BoxView(box, Suspended, null, 0);
        }
        catch (StoreConflictException e) when (e.Key.StartsWith("box/", StringComparison.Ordinal))
        {
            throw ShellboxException.User("BoxExists", $"Box '{boxName}' already exists; connect to it, or remove it first.");
        }
    }

    /// <summary>Deletes a box and its volume: the user's files and processes are gone for good.</summary>
    public async Task RemoveAsync(string userId, string boxName, CancellationToken cancellationToken = default)
    {
        var view = await GetAsync(userId, boxName, cancellationToken).ConfigureAwait(false);
        if (view.Sessions > 0)
        {
            throw ShellboxException.User("BoxInUse", $"Box '{boxName}' has {view.Sessions} connected session(s); disconnect them first.");
        }

        if (view.InstanceId is not null)
        {
            // Conditional on the box as listed: a connect that joined since makes this a conflict, not a lost session.
            await BoxRelease.ReleaseIdleAsync(engine, view.Box, cancellationToken).ConfigureAwait(false);
        }

        var box = await engine.Store.GetAsync<BoxRecord>(view.Box.Id, cancellationToken).ConfigureAwait(false)
            ?? throw ShellboxException.NotFound("BoxNotFound", $"There is no box '{boxName}' for user '{userId}'.");
        if (box.InstanceId is not null || box.Suspending || box.LiveSessions(engine.Time.GetUtcNow()).Count > 0)
        {
            // A connect bound it between the check above and now: the user wins, nothing is deleted.
            throw ShellboxException.User("BoxInUse", $"Box '{boxName}' was connected to while being removed; disconnect it first.");
        }

        var volume = await engine.Store.GetAsync<VolumeRecord>(box.VolumeId, cancellationToken).ConfigureAwait(false);

        // Mark first (conditional: a connect that raced us wins), then delete the volume, then the rows.
        var marked = await engine.Store.CommitAsync(
            volume is null
                ? [StoreWrite.Replace(box with { Suspending = true })]
                : [StoreWrite.Replace(box with { Suspending = true }), StoreWrite.Replace(volume with { Status = ResourceStatuses.Deleting })],
            cancellationToken).ConfigureAwait(false);
        await engine.Infrastructure.DeleteBoxVolumeAsync(box.VolumeId, userId, boxName, cancellationToken).ConfigureAwait(false);
        await engine.Store.CommitAsync(marked.Select(StoreWrite.Delete).ToList(), cancellationToken).ConfigureAwait(false);
        await engine.Store.AppendEventAsync(new PoolEvent(engine.Time.GetUtcNow(), engine.Ids.NewCorrelationId(), "remove-box", "box", box.Id, true, $"removed box {userId}/{boxName} and volume {box.VolumeId}"), cancellationToken).ConfigureAwait(false);
    }

    private async Task<BoxView> ViewAsync(BoxRecord box, DateTimeOffset now, CancellationToken cancellationToken) =>
        View(box, box.InstanceId is { } id && await engine.Store.GetAsync<InstanceRecord>(id, cancellationToken).ConfigureAwait(false) is { BoxRunning: true }, now);

    private static BoxView View(BoxRecord box, bool running, DateTimeOffset now) =>
        new(box, box.InstanceId is null ? Suspended : running ? Running : Lingering, box.InstanceId, box.LiveSessions(now).Count);
}
