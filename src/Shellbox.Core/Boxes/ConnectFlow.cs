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
/// (another session, or lingering after a disconnect) is joined in place.
/// </summary>
public sealed class ConnectFlow(ShellboxEngine engine)
{
    private static readonly TimeSpan SuspendWait = TimeSpan.FromSeconds(60);

    private IPoolStore Store => engine.Store;

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

                return box switch
                {
                    null => await NewBoxAsync(userId, boxName, sessionId, trace, cancellationToken).ConfigureAwait(false),
                    { InstanceId: not null } => await JoinAsync(box, sessionId, trace, cancellationToken).ConfigureAwait(false),
                    _ => await ReturningAsync(box, sessionId, trace, cancellationToken).ConfigureAwait(false),
                };
            }
            catch (StoreConflictException) when (attempt < 20)
            {
                // Another connect of the same box (or a reconcile) moved a row: decide again from fresh state.
            }
        }
    }

    /// <summary>Another connect has bound the box and is still bringing it up (attach, resume): a session, not yet running, not lingering.</summary>
    private async Task<bool> IsStartingAsync(BoxRecord? box, CancellationToken cancellationToken) =>
        box is { InstanceId: { } instanceId, LingerUntil: null }
        && box.LiveSessions(engine.Time.GetUtcNow()).Count > 0
        && await Store.GetAsync<InstanceRecord>(instanceId, cancellationToken).ConfigureAwait(false) is { BoxRunning: false };

    private async Task<BoxConnection> NewBoxAsync(string userId, string boxName, string sessionId, ConnectTrace trace, CancellationToken cancellationToken)
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
            return await ResumeAsync(pair.Box, pair.Instance, sessionId, trace, attach: false, created: true, cancellationToken).ConfigureAwait(false);
        }

        var loose = await trace.TimeAsync("claim-loose", () => PoolClaims.ClaimFirstAsync(
            Store,
            ct => PoolCandidates.LoosePairsAsync(Store, ct),
            p => Bind(userId, boxName, sessionId, trace, p.Instance, p.Volume, contended: [p.Instance, p.Volume]),
            cancellationToken)).ConfigureAwait(false);
        if (loose is null)
        {
            if (await Store.GetAsync<BoxRecord>(boxId, cancellationToken).ConfigureAwait(false) is not null)
            {
                throw new StoreConflictException($"box/{boxId}", "was created by another connect meanwhile");
            }

            throw await ExhaustedAsync(cancellationToken).ConfigureAwait(false);
        }

        trace.Path = "new-with-attach";
        return await ResumeAsync(loose.Box, loose.Instance, sessionId, trace, attach: true, created: true, cancellationToken).ConfigureAwait(false);
    }

    private async Task<BoxConnection> ReturningAsync(BoxRecord box, string sessionId, ConnectTrace trace, CancellationToken cancellationToken)
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
        if (claimed is null)
        {
            // Either no free instance, or the box moved (someone else attached it): let the caller decide again.
            var now = await Store.GetAsync<BoxRecord>(box.Id, cancellationToken).ConfigureAwait(false);
            if (now?.ETag != box.ETag)
            {
                throw new StoreConflictException(box.Key, "changed while connecting");
            }

            throw await ExhaustedAsync(cancellationToken).ConfigureAwait(false);
        }

        trace.Path = "returning";
        return await ResumeAsync(claimed.Box, claimed.Instance, sessionId, trace, attach: true, created: false, cancellationToken).ConfigureAwait(false);
    }

    private async Task<BoxConnection> JoinAsync(BoxRecord box, string sessionId, ConnectTrace trace, CancellationToken cancellationToken)
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
            throw new StoreConflictException(box.Key, "pointed at a missing instance and was unbound");
        }

        var now = engine.Time.GetUtcNow();
        var expires = now + engine.Settings.LeaseDuration;
        var lease = new Lease(box.Id, expires, trace.CorrelationId);
        var joined = box with { Sessions = [.. box.LiveSessions(now), new BoxSession(sessionId, expires, trace.CorrelationId)], LingerUntil = null, LastConnected = now };
        var leased = instance with { Status = ResourceStatuses.Connected, Lease = lease, LastUsed = now };
        var written = new CommittedRows(await trace.TimeAsync("claim", () => Store.CommitAsync([StoreWrite.Replace(joined), StoreWrite.Replace(leased)], cancellationToken)).ConfigureAwait(false));
        trace.Path = instance.BoxRunning ? "joining" : "lingering";
        return await ResumeAsync(written.Of(joined), written.Of(leased), sessionId, trace, attach: false, created: false, cancellationToken).ConfigureAwait(false);
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
                endpoint = await trace.TimeAsync("resume", () => engine.Runtime.ResumeAsync(instance.Id, box.VolumeId, cancellationToken)).ConfigureAwait(false);
            }
            catch (SavedStateMissingException)
            {
                // The host stopped without suspending the box: its files are on the disk, its running programs
                // are gone. Booting it fresh is the only way back in; the caller tells the user.
                endpoint = await trace.TimeAsync("cold-boot", () => engine.Runtime.ColdBootAsync(instance.Id, box.VolumeId, cancellationToken)).ConfigureAwait(false);
                trace.ColdBooted = true;
                await Store.AppendEventAsync(new PoolEvent(engine.Time.GetUtcNow(), trace.CorrelationId, "cold-boot", "box", box.Id, true, $"box {box.UserId}/{box.BoxName} had lost its saved state and was booted from its disk"), cancellationToken).ConfigureAwait(false);
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

    /// <summary>No instance or volume is free: reclaim any expired linger first, so the caller's retry can succeed.</summary>
    private async Task<ShellboxException> ExhaustedAsync(CancellationToken cancellationToken)
    {
        var correlation = engine.Ids.NewCorrelationId();
        var reclaimed = await new LeaseReclaimer(engine, correlation).ReclaimExpiredAsync(cancellationToken).ConfigureAwait(false);
        if (reclaimed > 0)
        {
            return new StoreConflictException("pool", "had an expired linger that was just reclaimed");
        }

        // A returning box needs a bare instance; when every free instance holds a ready pair, break one
        // (suspend its unowned box, detach) rather than turn the user away.
        return await new ReadyPairs(engine, correlation).UnpairOneAsync(cancellationToken).ConfigureAwait(false)
            ? new StoreConflictException("pool", "had a ready pair that was just broken up for a returning box")
            : PoolExhausted();
    }

    /// <summary>
    /// Fail fast with one line the user can act on: the next reconcile pass (one CheckInterval away at most)
    /// refills the pool, so that is when a retry can succeed. A burst never queues callers on the bastion.
    /// </summary>
    private ShellboxException PoolExhausted()
    {
        var retrySeconds = Math.Max(1, (int)Math.Ceiling(engine.Settings.Pool.CheckInterval.TotalSeconds));
        return ShellboxException.Service("PoolExhausted", $"Pool exhausted: no free instance or volume right now; try again in {retrySeconds} s, once the pool has refilled.");
    }
}
