using Shellbox.Core.Engine;
using Shellbox.Core.Errors;
using Shellbox.Core.Lifecycle;
using Shellbox.Core.Model;
using Shellbox.Core.Ports;
using Shellbox.Core.Store;

namespace Shellbox.Core.Boxes;

/// <summary>
/// Connect (user, box), provider-neutral. A new box claims a ready pair in one conditional write (no
/// provider call on the critical path), else a free instance and volume (attach, resume). A returning
/// box claims a free instance and attaches its volume (one provider call). A box still attached
/// (another session, or lingering after a disconnect) is joined in place. When the pool has nothing free, the
/// <see cref="SlowPath"/> makes what is missing while the caps allow (the user is told once, through
/// <paramref name="notices"/>); only at the caps does a connect fail, with one line saying when to retry.
/// </summary>
/// <param name="notices">Told once when the connect takes the slow path, before the wait (the cmdlet writes it as one line).</param>
public sealed class ConnectFlow(ShellboxEngine engine, IProgress<ConnectNotice>? notices = null)
{
    private static readonly TimeSpan SuspendWait = TimeSpan.FromSeconds(60);

    private IPoolStore Store => engine.Store;

    /// <summary>
    /// Start the box fresh from its disk instead of resuming its saved state, which is discarded: the way back in for a
    /// state that cannot be loaded (corrupt, or saved under other machine settings). Its files stay; its running
    /// programs are lost. Only for a box that exists and rests on its volume (not running, not lingering).
    /// </summary>
    public bool BootFromDisk { get; init; }

    /// <param name="create">When the box does not exist: true creates it (connect), false is a not-found error.</param>
    public async Task<BoxConnection> ConnectAsync(string userId, string boxName, bool create = true, CancellationToken cancellationToken = default)
    {
        BoxNames.ValidateUser(userId);
        BoxNames.Validate(boxName);
        var boxId = BoxRecord.IdFor(userId, boxName);
        var trace = new ConnectTrace(engine.Ids.NewCorrelationId());
        using var logScope = Observability.ShellboxLog.Correlation(trace.CorrelationId);
        var sessionId = engine.Ids.NewCorrelationId();
        var waitedSince = engine.Time.GetUtcNow();

        for (var attempt = 1; ; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                var box = await Store.GetAsync<BoxRecord>(boxId, cancellationToken).ConfigureAwait(false);
                if (box is null && !create)
                {
                    throw ShellboxException.NotFound("BoxNotFound", $"There is no box '{boxName}'; connect creates it, or run New-ShellboxBox -Name {boxName}.");
                }

                var seen = engine.Time.GetUtcNow();
                if (box?.Mark is { } mark && mark.IsExpired(seen))
                {
                    // A release or removal whose holder died: settle it (finish or undo), then decide again.
                    await new TransitionRepair(engine, trace.CorrelationId).RepairBoxAsync(box.Id, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                if (box is { Mark: not null } || await IsStartingAsync(box, cancellationToken).ConfigureAwait(false))
                {
                    // The last session out is saving the box, or the first one in is still attaching and resuming
                    // it: join once it has settled, never resume it a second time under the other connect.
                    // A release is waited for until its mark expires (then repaired above); anything else for a minute.
                    var deadline = waitedSince + SuspendWait;
                    if (box?.Mark is { Act: TransitionAct.Release } release && release.ExpiresAt > deadline)
                    {
                        deadline = release.ExpiresAt;
                    }

                    if (seen > deadline)
                    {
                        throw ShellboxException.Service("BoxBusy", $"Box '{boxName}' has been suspending or starting for over {SuspendWait.TotalSeconds:0} s; try again shortly.");
                    }

                    await Task.Delay(TimeSpan.FromMilliseconds(100), engine.Time, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                if (BootFromDisk)
                {
                    CheckBootFromDisk(box, boxName);
                }

                var decided = box switch
                {
                    null => await NewBoxAsync(userId, boxName, sessionId, trace, cancellationToken).ConfigureAwait(false),
                    { InstanceId: not null } => await JoinAsync(box, sessionId, trace, cancellationToken).ConfigureAwait(false),
                    _ => await ReturningAsync(box, sessionId, trace, cancellationToken).ConfigureAwait(false),
                };
                if (decided.Connection is { } connection)
                {
                    return connection;
                }

                if (attempt >= 20)
                {
                    throw ShellboxException.Service("BoxBusy", $"Box '{boxName}' kept changing while connecting ({decided.AgainBecause}); try again shortly.");
                }
            }
            catch (StoreConflictException) when (attempt < 20)
            {
                // A conditional write lost to another connect of the same box (or a reconcile): decide again from fresh state.
            }
        }
    }

    /// <summary>Refuses, before anything is claimed, a boot from disk of a box that does not exist or is not at rest.</summary>
    private static void CheckBootFromDisk(BoxRecord? box, string boxName)
    {
        if (box is null)
        {
            throw ShellboxException.NotFound("BoxNotFound", $"There is no box '{boxName}' to start from its disk.");
        }

        if (box.InstanceId is not null)
        {
            throw new ShellboxException(ShellboxErrorKind.Conflict, "BoxRunning", $"Box '{boxName}' is running or lingering after its last session; only a box at rest on its volume is started from its disk (its saved state is then discarded).");
        }
    }

    /// <summary>What the user of a box whose saved state cannot be loaded is told to do about it.</summary>
    private static string BootFromDiskHint(BoxRecord box) =>
        $"An operator can start it fresh from its disk, its files kept and its running programs lost: Connect-ShellboxBox {box.BoxName} -UserId {box.UserId} -ColdBoot.";

    /// <summary>Another connect has bound the box and is still bringing it up (attach, resume): a session, not yet running, not lingering.</summary>
    private async Task<bool> IsStartingAsync(BoxRecord? box, CancellationToken cancellationToken) =>
        box is { InstanceId: { } instanceId, LingerUntil: null }
        && box.LiveSessions(engine.Time.GetUtcNow()).Count > 0
        && await Store.GetAsync<InstanceRecord>(instanceId, cancellationToken).ConfigureAwait(false) is { BoxRunning: false };

    private async Task<ConnectDecision> NewBoxAsync(string userId, string boxName, string sessionId, ConnectTrace trace, CancellationToken cancellationToken)
    {
        var boxId = BoxRecord.IdFor(userId, boxName);
        await new Users.UserQuota(engine).CheckNewBoxAsync(userId, boxName, runs: true, trace.CorrelationId, cancellationToken).ConfigureAwait(false);

        // A rival that inserts this box first makes the insert conflict: that is thrown, and the caller decides again.
        var pair = await trace.TimeAsync("claim", () => PoolClaims.ClaimFirstAsync(
            Store,
            ct => PoolCandidates.ReadyPairsAsync(Store, ct),
            p => Bind(userId, boxName, sessionId, trace, p.Instance, p.Volume, contended: [p.Instance, p.Volume]),
            cancellationToken)).ConfigureAwait(false);
        if (pair is not null)
        {
            trace.Path = "new-from-ready-pair";
            return ConnectDecision.Connected(await ResumeAsync(pair.Box, pair.Instance, sessionId, trace, attach: false, created: true, cancellationToken).ConfigureAwait(false));
        }

        var loose = await trace.TimeAsync("claim-loose", () => PoolClaims.ClaimFirstAsync(
            Store,
            ct => PoolCandidates.LoosePairsAsync(Store, ct),
            p => Bind(userId, boxName, sessionId, trace, p.Instance, p.Volume, contended: [p.Instance, p.Volume]),
            cancellationToken)).ConfigureAwait(false);
        if (loose is not null)
        {
            trace.Path = "new-with-attach";
            return ConnectDecision.Connected(await ResumeAsync(loose.Box, loose.Instance, sessionId, trace, attach: true, created: true, cancellationToken).ConfigureAwait(false));
        }

        if (await Store.GetAsync<BoxRecord>(boxId, cancellationToken).ConfigureAwait(false) is not null)
        {
            return ConnectDecision.Again("the box was created by another connect meanwhile");
        }

        if (await FreedSomethingAsync(unpair: false, cancellationToken).ConfigureAwait(false) is { } freed)
        {
            return ConnectDecision.Again(freed);
        }

        var slow = await new SlowPath(engine, trace, notices).NewBoxAsync(
            (i, v) => Bind(userId, boxName, sessionId, trace, i, v, contended: [i, v]), cancellationToken).ConfigureAwait(false);
        return await AfterSlowPathAsync(slow, "new-made", sessionId, trace, created: true, cancellationToken).ConfigureAwait(false);
    }

    private async Task<ConnectDecision> ReturningAsync(BoxRecord box, string sessionId, ConnectTrace trace, CancellationToken cancellationToken)
    {
        await new Users.UserQuota(engine).CheckResumeAsync(box, trace.CorrelationId, cancellationToken).ConfigureAwait(false);

        // The box and its volume are point reads; only the instance is contended. A conflict on the box or the
        // volume means someone else moved them: thrown, and the caller decides again from fresh state.
        var volume = await Store.GetAsync<VolumeRecord>(box.VolumeId, cancellationToken).ConfigureAwait(false);
        var claimed = volume is { InstanceId: null } && box is { InstanceId: null, Mark: null }
            ? await trace.TimeAsync("claim", () => PoolClaims.ClaimFirstAsync(
                Store,
                ct => PoolCandidates.BareInstancesAsync(Store, ct),
                i => Bind(box.UserId, box.BoxName, sessionId, trace, i, volume, contended: [i], existing: box),
                cancellationToken)).ConfigureAwait(false)
            : null;
        if (claimed is not null)
        {
            trace.Path = "returning";
            return ConnectDecision.Connected(await ResumeAsync(claimed.Box, claimed.Instance, sessionId, trace, attach: true, created: false, cancellationToken).ConfigureAwait(false));
        }

        // Either no free instance, or the box moved (someone else attached it): then decide again.
        var now = await Store.GetAsync<BoxRecord>(box.Id, cancellationToken).ConfigureAwait(false);
        if (now?.ETag != box.ETag)
        {
            return ConnectDecision.Again("the box changed while connecting");
        }

        if (await FreedSomethingAsync(unpair: true, cancellationToken).ConfigureAwait(false) is { } freed)
        {
            return ConnectDecision.Again(freed);
        }

        if (volume is not { InstanceId: null })
        {
            throw ShellboxException.Service("BoxBusy", $"Box '{box.BoxName}' is still attached elsewhere; try again shortly.");
        }

        var slow = await new SlowPath(engine, trace, notices).ReturningAsync(
            i => Bind(box.UserId, box.BoxName, sessionId, trace, i, volume, contended: [i], existing: box), cancellationToken).ConfigureAwait(false);
        return await AfterSlowPathAsync(slow, "returning-made", sessionId, trace, created: false, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Resumes what the slow path bound (attach, first resume), or names why it could not.</summary>
    private async Task<ConnectDecision> AfterSlowPathAsync(SlowPathOutcome<ClaimedBox> slow, string path, string sessionId, ConnectTrace trace, bool created, CancellationToken cancellationToken)
    {
        switch (slow)
        {
            case SlowPathMade<ClaimedBox> made:
                trace.Path = path;
                var connection = await ResumeAsync(made.Claimed.Box, made.Claimed.Instance, sessionId, trace, attach: true, created, cancellationToken).ConfigureAwait(false);
                try
                {
                    await SlowPathTimes.RecordAsync(engine, trace, connection.Box, SlowPathWork.Box, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // The box is up; only the next user's estimate misses this figure.
                    Observability.ShellboxLog.Dropped("Shellbox.Core.Connect", $"recording the slow path's time for box={connection.Box.Id} failed", e);
                }

                return ConnectDecision.Connected(connection);
            case SlowPathAtCapacity<ClaimedBox> full:
                throw AtCapacityError.For(engine, full.Limit);
            case SlowPathDecideAgain<ClaimedBox> again:
                return ConnectDecision.Again(again.Why);
            default:
                throw new InvalidOperationException($"Unknown slow path outcome {slow.GetType().Name}.");
        }
    }

    private async Task<ConnectDecision> JoinAsync(BoxRecord box, string sessionId, ConnectTrace trace, CancellationToken cancellationToken)
    {
        var instance = await Store.GetAsync<InstanceRecord>(box.InstanceId!, cancellationToken).ConfigureAwait(false);
        if (instance is null)
        {
            // The instance is gone (reconcile forgot it as a ghost): the box rests on its volume. Unbind it and
            // decide again, as a returning box; nobody else ever repairs this pointer.
            var volume = await Store.GetAsync<VolumeRecord>(box.VolumeId, cancellationToken).ConfigureAwait(false);
            var writes = new List<StoreWrite> { StoreWrite.Replace(box with { InstanceId = null, Sessions = [], LingerUntil = null }) };
            if (volume is not null && volume.InstanceId == box.InstanceId)
            {
                writes.Add(StoreWrite.Replace(volume with { InstanceId = null, Status = ResourceStatuses.Suspended, Lease = null }));
            }

            await Store.CommitAsync(writes, cancellationToken).ConfigureAwait(false);
            return ConnectDecision.Again("the box pointed at a missing instance and was unbound");
        }

        var now = engine.Time.GetUtcNow();
        var expires = now + engine.Settings.LeaseDuration;
        var lease = new Lease(box.Id, expires, trace.CorrelationId);
        var joined = box with { Sessions = [.. box.LiveSessions(now), new BoxSession(sessionId, expires, trace.CorrelationId)], LingerUntil = null, LastConnected = now };
        var leased = instance with { Status = ResourceStatuses.Connected, Lease = lease, LastUsed = now };
        var written = new CommittedRows(await trace.TimeAsync("claim", () => Store.CommitAsync([StoreWrite.Replace(joined), StoreWrite.Replace(leased)], cancellationToken)).ConfigureAwait(false));
        trace.Path = instance.BoxRunning ? "joining" : "lingering";
        return ConnectDecision.Connected(await ResumeAsync(written.Of(joined), written.Of(leased), sessionId, trace, attach: false, created: false, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>The one commit that binds a box to an instance and volume: instance, volume, box (inserted when new).</summary>
    private ClaimAttempt<ClaimedBox> Bind(string userId, string boxName, string sessionId, ConnectTrace trace, InstanceRecord instance, VolumeRecord volume, IReadOnlyList<StoreRecord> contended, BoxRecord? existing = null)
    {
        var now = engine.Time.GetUtcNow();
        var expires = now + engine.Settings.LeaseDuration;
        var boxId = BoxRecord.IdFor(userId, boxName);
        var session = new BoxSession(sessionId, expires, trace.CorrelationId);
        var box = (existing ?? new BoxRecord { Id = boxId, UserId = userId, BoxName = boxName, VolumeId = volume.Id, Created = now })
            with { InstanceId = instance.Id, Sessions = [session], LastConnected = now, LingerUntil = null, Mark = null };
        var connected = instance with { Status = ResourceStatuses.Connected, VolumeId = volume.Id, Lease = new Lease(boxId, expires, trace.CorrelationId), LastUsed = now };
        var attached = volume with { Status = ResourceStatuses.Attached, UserId = userId, BoxName = boxName, InstanceId = instance.Id, Lease = null, LastUsed = now };
        return new ClaimAttempt<ClaimedBox>(
            contended,
            [StoreWrite.Replace(connected), StoreWrite.Replace(attached), existing is null ? StoreWrite.Insert(box) : StoreWrite.Replace(box)],
            rows => new ClaimedBox(rows.Of(connected), rows.Of(attached), rows.Of(box)));
    }

    /// <summary>Attach if needed, resume (a running box answers at once), mark it running; on failure put everything back.</summary>
    private async Task<BoxConnection> ResumeAsync(BoxRecord box, InstanceRecord instance, string sessionId, ConnectTrace trace, bool attach, bool created, CancellationToken cancellationToken)
    {
        try
        {
            CrashPoints.Reach(CrashPoints.AfterClaim);
            if (attach)
            {
                await trace.TimeAsync("attach", () => engine.Infrastructure.AttachAsync(instance.Id, box.VolumeId, ResourceTags.For(instance, box.UserId, box.BoxName), cancellationToken)).ConfigureAwait(false);
                CrashPoints.Reach(CrashPoints.AfterAttach);
            }

            BoxEndpoint endpoint;
            try
            {
                if (BootFromDisk && !created)
                {
                    // Asked for (CheckBootFromDisk let only a box at rest through): the saved state is discarded unread.
                    endpoint = await trace.TimeAsync("cold-boot", () => engine.Runtime.ColdBootAsync(instance.Id, box.VolumeId, box.BoxName, cancellationToken)).ConfigureAwait(false);
                    trace.ColdBooted = true;
                    await Store.AppendEventAsync(new PoolEvent(engine.Time.GetUtcNow(), trace.CorrelationId, "cold-boot", "box", box.Id, true, $"box {box.UserId}/{box.BoxName} was booted from its disk as asked; its saved state was discarded"), cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    endpoint = await trace.TimeAsync("resume", () => engine.Runtime.ResumeAsync(instance.Id, box.VolumeId, box.BoxName, cancellationToken)).ConfigureAwait(false);
                }
            }
            catch (SavedStateUnloadableException e) when (!created)
            {
                throw e.WithHint(BootFromDiskHint(box));
            }
            catch (ShellboxException e) when (e is SavedStateMissingException || (created && e is SavedStateUnloadableException))
            {
                // The host stopped without suspending the box: its files are on the disk, its running programs
                // are gone. Booting it fresh is the only way back in; the caller tells the user. A new box whose fresh
                // clone will not resume (corrupt, or another machine's) has nothing to keep either: booted, not failed,
                // so that it is never left bound to a clone no resume can start.
                endpoint = await trace.TimeAsync("cold-boot", () => engine.Runtime.ColdBootAsync(instance.Id, box.VolumeId, box.BoxName, cancellationToken)).ConfigureAwait(false);
                trace.ColdBooted = true;
                var why = e is SavedStateMissingException ? "had lost its saved state" : $"was made on a clone whose saved state would not load ({e.ErrorId})";
                await Store.AppendEventAsync(new PoolEvent(engine.Time.GetUtcNow(), trace.CorrelationId, "cold-boot", "box", box.Id, true, $"box {box.UserId}/{box.BoxName} {why} and was booted from its disk"), cancellationToken).ConfigureAwait(false);
            }

            CrashPoints.Reach(CrashPoints.DuringResume);
            if (!instance.BoxRunning)
            {
                await ConflictRetry.RunAsync(async () =>
                {
                    var current = await Store.GetAsync<InstanceRecord>(instance.Id, cancellationToken).ConfigureAwait(false);
                    if (current is not null && !current.BoxRunning)
                    {
                        await Store.ReplaceAsync(current with { BoxRunning = true }, cancellationToken).ConfigureAwait(false);
                    }
                }, cancellationToken).ConfigureAwait(false);
            }

            await Store.AppendEventAsync(new PoolEvent(engine.Time.GetUtcNow(), trace.CorrelationId, "connect", "box", box.Id, true, trace.ToString()), cancellationToken).ConfigureAwait(false);
            Observability.ConnectRecorder.Finished(trace, box.Id);
            return new BoxConnection(box, endpoint, sessionId, trace, created);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            try
            {
                Observability.ConnectRecorder.Finished(trace, box.Id, e);
                await Store.AppendEventAsync(new PoolEvent(engine.Time.GetUtcNow(), trace.CorrelationId, "connect", "box", box.Id, false, $"{trace} error={e.GetType().Name}: {e.Message}"), CancellationToken.None).ConfigureAwait(false);

                // A box that failed to start never lingers: release its instance to the pool now.
                await new DisconnectFlow(engine).DisconnectAsync(box.Id, sessionId, TimeSpan.Zero, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception cleanup) when (cleanup is not OperationCanceledException)
            {
                // The user needs the first error; the instance lease expires and reconcile finishes the release.
                Observability.ShellboxLog.Dropped("Shellbox.Core.Connect", $"release after a failed connect box={box.Id} failed; the lease expires and reconcile finishes it", cleanup);
            }

            throw;
        }
    }

    /// <summary>
    /// Nothing free for this connect: before making anything, take back what the pool already has. Reclaims expired
    /// lingers, then ends the linger closest to its end (a linger only saves its owner's next resume: the box is saved
    /// on its volume already, so a linger never holds an instance another user needs), and for a returning box (it
    /// needs a bare instance) unpairs a ready pair. Null when nothing was freed.
    /// </summary>
    private async Task<string?> FreedSomethingAsync(bool unpair, CancellationToken cancellationToken)
    {
        var correlation = engine.Ids.NewCorrelationId();
        var reclaimer = new LeaseReclaimer(engine, correlation);
        if (await reclaimer.ReclaimExpiredAsync(cancellationToken).ConfigureAwait(false) > 0)
        {
            return "the pool had an expired linger that was just reclaimed";
        }

        if (await reclaimer.EndOneLingerAsync(cancellationToken).ConfigureAwait(false) is { } ended)
        {
            return $"the linger of box {ended} was ended early to free its instance";
        }

        return unpair && await new ReadyPairs(engine, correlation).UnpairOneAsync(cancellationToken).ConfigureAwait(false)
            ? "a ready pair was just unpaired for a returning box"
            : null;
    }

    /// <summary>The error id of a connect refused at the pool's caps (the ssh wrapper shows its message as written).</summary>
    public const string AtCapacityErrorId = AtCapacityError.Id;
}
