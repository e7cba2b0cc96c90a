using Shellbox.Core.Engine;
using Shellbox.Core.Errors;
using Shellbox.Core.Lifecycle;
using Shellbox.Core.Model;
using Shellbox.Core.Ports;
using Shellbox.Core.Store;

namespace Shellbox.Core.Boxes;

/// <summary>A box as a user sees it, with its state derived from the store.</summary>
public sealed record BoxView(BoxRecord Box, string State, string? InstanceId, int Sessions);

/// <summary>Lists, creates (spinup) and removes boxes. Connecting is <see cref="ConnectFlow"/>.</summary>
/// <param name="notices">Told once when a spinup has to make its volume, before the wait (the cmdlet writes it as one line).</param>
public sealed class BoxCatalog(ShellboxEngine engine, IProgress<ConnectNotice>? notices = null)
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

    /// <summary>
    /// Spinup: binds a volume (a golden clone) to a new box without connecting; the box does not run, so no instance
    /// is claimed or made. A loose volume is taken first (no provider call), else a ready pair's (unpaired: suspend,
    /// detach); with neither, the <see cref="SlowPath"/> makes one while the caps allow (the user is told once,
    /// through the notices). Only at the caps does a spinup fail, with the same one line as a connect.
    /// </summary>
    public async Task<BoxView> CreateAsync(string userId, string boxName, CancellationToken cancellationToken = default)
    {
        BoxNames.ValidateUser(userId);
        BoxNames.Validate(boxName);
        var trace = new ConnectTrace(engine.Ids.NewCorrelationId());
        using var logScope = Observability.ShellboxLog.Correlation(trace.CorrelationId);
        await ThrowIfExistsAsync(userId, boxName, cancellationToken).ConfigureAwait(false);
        await new Users.UserQuota(engine).CheckNewBoxAsync(userId, boxName, runs: false, trace.CorrelationId, cancellationToken).ConfigureAwait(false);

        for (var attempt = 1; ; attempt++)
        {
            var view = await ClaimVolumeAsync(userId, boxName, cancellationToken).ConfigureAwait(false);

            // No loose volume but a ready pair: unpair it (suspend its unowned box, detach) and use its volume.
            if (view is null && await new ReadyPairs(engine, engine.Ids.NewCorrelationId()).UnpairOneAsync(cancellationToken).ConfigureAwait(false))
            {
                view = await ClaimVolumeAsync(userId, boxName, cancellationToken).ConfigureAwait(false);
            }

            if (view is not null)
            {
                return view;
            }

            var slow = await new SlowPath(engine, trace, notices).NewVolumeAsync(v => Bind(userId, boxName, v), cancellationToken).ConfigureAwait(false);
            switch (slow)
            {
                case SlowPathMade<BoxRecord> made:
                    trace.Path = "spinup-made";
                    await RecordSlowPathAsync(trace, made.Claimed, cancellationToken).ConfigureAwait(false);
                    return new BoxView(made.Claimed, Suspended, null, 0);
                case SlowPathAtCapacity<BoxRecord> full:
                    throw AtCapacityError.For(engine, full.Limit);
                case SlowPathDecideAgain<BoxRecord> again:
                    // A rival bound this box meanwhile (then it exists: one clear line), or the pool moved: look again.
                    await ThrowIfExistsAsync(userId, boxName, cancellationToken).ConfigureAwait(false);
                    if (attempt >= 5)
                    {
                        throw ShellboxException.Service("BoxBusy", $"Box '{boxName}' could not be created: the pool kept changing ({again.Why}); try again shortly.");
                    }

                    break;
                default:
                    throw new InvalidOperationException($"Unknown slow path outcome {slow.GetType().Name}.");
            }
        }
    }

    private async Task ThrowIfExistsAsync(string userId, string boxName, CancellationToken cancellationToken)
    {
        if (await engine.Store.GetAsync<BoxRecord>(BoxRecord.IdFor(userId, boxName), cancellationToken).ConfigureAwait(false) is not null)
        {
            throw BoxExists(boxName);
        }
    }

    private static ShellboxException BoxExists(string boxName) =>
        ShellboxException.User("BoxExists", $"Box '{boxName}' already exists; connect to it, or remove it first.");

    /// <summary>Binds the oldest loose volume to the new box; null when no loose volume is left.</summary>
    private async Task<BoxView?> ClaimVolumeAsync(string userId, string boxName, CancellationToken cancellationToken)
    {
        try
        {
            // A rival that created the box first makes the insert conflict, caught below.
            var box = await PoolClaims.ClaimFirstAsync(
                engine.Store,
                ct => PoolCandidates.LooseVolumesAsync(engine.Store, ct),
                v => Bind(userId, boxName, v),
                cancellationToken).ConfigureAwait(false);
            return box is null ? null : new BoxView(box, Suspended, null, 0);
        }
        catch (StoreConflictException e) when (e.Key.StartsWith("box/", StringComparison.Ordinal))
        {
            throw BoxExists(boxName);
        }
    }

    /// <summary>The one commit that binds a volume at rest to a new box: the volume owned and suspended, the box inserted.</summary>
    private ClaimAttempt<BoxRecord> Bind(string userId, string boxName, VolumeRecord volume)
    {
        var now = engine.Time.GetUtcNow();
        var owned = volume with { Status = ResourceStatuses.Suspended, UserId = userId, BoxName = boxName, Lease = null, LastUsed = now };
        var created = new BoxRecord { Id = BoxRecord.IdFor(userId, boxName), UserId = userId, BoxName = boxName, VolumeId = volume.Id, Created = now };
        return new ClaimAttempt<BoxRecord>([volume], [StoreWrite.Replace(owned), StoreWrite.Insert(created)], rows => rows.Of(created));
    }

    /// <summary>The next spinup's "about N s" comes from this figure; a spinup that bound its box is not failed for it.</summary>
    private async Task RecordSlowPathAsync(ConnectTrace trace, BoxRecord box, CancellationToken cancellationToken)
    {
        try
        {
            await SlowPathTimes.RecordAsync(engine, trace, box, SlowPathWork.Volume, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Observability.ShellboxLog.Dropped("Shellbox.Core.Spinup", $"recording the slow path's time for box={box.Id} failed", e);
        }
    }

    /// <summary>
    /// Deletes a box and its volume: the user's files and processes are gone for good. The removal is one
    /// transition: mark the box and its volume (conditional: a connect that raced us wins), delete the volume
    /// through the provider, drop both rows. A failed provider delete undoes the marks (the box is usable again,
    /// a retry can remove it); a crash leaves marks that reconcile finishes or undoes once they expire.
    /// </summary>
    public async Task RemoveAsync(string userId, string boxName, CancellationToken cancellationToken = default)
    {
        var correlation = engine.Ids.NewCorrelationId();
        var view = await GetAsync(userId, boxName, cancellationToken).ConfigureAwait(false);
        if (view.Sessions > 0)
        {
            throw ShellboxException.User("BoxInUse", $"Box '{boxName}' has {view.Sessions} connected session(s); disconnect them first.");
        }

        if (view.Box.Mark is { } pending && pending.IsExpired(engine.Time.GetUtcNow()))
        {
            // A removal or release that died half way: settle it first, then decide on what is left.
            await new TransitionRepair(engine, correlation).RepairBoxAsync(view.Box.Id, cancellationToken).ConfigureAwait(false);
            view = await GetAsync(userId, boxName, cancellationToken).ConfigureAwait(false);
        }

        if (view.InstanceId is not null)
        {
            // Conditional on the box as listed: a connect that joined since makes this a conflict, not a lost session.
            await BoxRelease.ReleaseIdleAsync(engine, view.Box, correlation, cancellationToken).ConfigureAwait(false);
        }

        var box = await engine.Store.GetAsync<BoxRecord>(view.Box.Id, cancellationToken).ConfigureAwait(false)
            ?? throw ShellboxException.NotFound("BoxNotFound", $"There is no box '{boxName}' for user '{userId}'.");
        if (box.InstanceId is not null || box.Mark is not null || box.LiveSessions(engine.Time.GetUtcNow()).Count > 0)
        {
            // A connect bound it between the check above and now, or another transition holds it: the user wins, nothing is deleted.
            throw ShellboxException.User("BoxInUse", $"Box '{boxName}' was connected to or is being moved; disconnect it first, or try again shortly.");
        }

        var volume = await engine.Store.GetAsync<VolumeRecord>(box.VolumeId, cancellationToken).ConfigureAwait(false);
        var mark = TransitionMark.Start(TransitionAct.Remove, correlation, engine.Time.GetUtcNow());
        var marked = new CommittedRows(await engine.Store.CommitAsync(
            volume is null
                ? [StoreWrite.Replace(box with { Mark = mark })]
                : [StoreWrite.Replace(box with { Mark = mark }), StoreWrite.Replace(volume with { Status = ResourceStatuses.Deleting, Mark = mark })],
            cancellationToken).ConfigureAwait(false));
        CrashPoints.Reach(CrashPoints.DuringDelete);
        try
        {
            await engine.Infrastructure.DeleteBoxVolumeAsync(box.VolumeId, userId, boxName, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await engine.Store.AppendEventAsync(new PoolEvent(engine.Time.GetUtcNow(), correlation, "remove-box", "box", box.Id, false, $"the provider did not delete volume {box.VolumeId} of box {userId}/{boxName}, the box is kept: {e.Message}"), CancellationToken.None).ConfigureAwait(false);
            await new TransitionRepair(engine, correlation).UndoAsync(box.Id, mark, CancellationToken.None).ConfigureAwait(false);
            throw;
        }

        var writes = new List<StoreWrite> { StoreWrite.Delete(marked.Of(box with { Mark = mark })) };
        if (volume is not null)
        {
            writes.Add(StoreWrite.Delete(marked.Of(volume)));
        }

        await engine.Store.CommitAsync(writes, cancellationToken).ConfigureAwait(false);
        await engine.Store.AppendEventAsync(new PoolEvent(engine.Time.GetUtcNow(), correlation, "remove-box", "box", box.Id, true, $"removed box {userId}/{boxName} and volume {box.VolumeId}"), cancellationToken).ConfigureAwait(false);
    }

    private async Task<BoxView> ViewAsync(BoxRecord box, DateTimeOffset now, CancellationToken cancellationToken) =>
        View(box, box.InstanceId is { } id && await engine.Store.GetAsync<InstanceRecord>(id, cancellationToken).ConfigureAwait(false) is { BoxRunning: true }, now);

    private static BoxView View(BoxRecord box, bool running, DateTimeOffset now) =>
        new(box, box.InstanceId is null ? Suspended : running ? Running : Lingering, box.InstanceId, box.LiveSessions(now).Count);
}
