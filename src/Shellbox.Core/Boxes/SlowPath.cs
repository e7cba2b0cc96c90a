using Shellbox.Core.Engine;
using Shellbox.Core.Errors;
using Shellbox.Core.Lifecycle;
using Shellbox.Core.Model;
using Shellbox.Core.Ports;
using Shellbox.Core.Store;

namespace Shellbox.Core.Boxes;

/// <summary>
/// A connect that found nothing ready makes what is missing instead of failing, while the caps allow. It first
/// holds what it needs (a free instance or volume leased to it; rows for what must be made, inserted "creating"
/// with a <see cref="TransitionAct.Create"/> mark through <see cref="PoolCapacity"/>, so the caps hold under any
/// burst), tells the user once, makes the missing resources in the provider, then binds them to the box in one
/// conditional write like any claim. A crash leaves only marks and leases with an expiry: reconcile deletes a
/// resource whose create never finished (<see cref="PlanExecutor"/>'s reset) and frees a lease nobody renews.
/// </summary>
/// <remarks>A spinup takes it too (<see cref="NewVolumeAsync{T}"/>): the box only needs a volume, so only that is made.</remarks>
internal sealed class SlowPath(ShellboxEngine engine, ConnectTrace trace, IProgress<ConnectNotice>? notices)
{
    /// <summary>
    /// How long the notice waits for a provider that refuses at once (Local: no slot left), so such a user gets the
    /// capacity line alone rather than a promise and then a refusal. Too short for anyone to notice.
    /// </summary>
    private static readonly TimeSpan RefusalGrace = TimeSpan.FromMilliseconds(250);

    private IPoolStore Store => engine.Store;

    /// <summary>A new box with no ready pair and no loose pair: lease what is free, make the rest, bind.</summary>
    public async Task<SlowPathOutcome<ClaimedBox>> NewBoxAsync(Func<InstanceRecord, VolumeRecord, ClaimAttempt<ClaimedBox>> bind, CancellationToken cancellationToken)
    {
        // A look first, so a connect refused at the caps writes nothing (the usual case in a burst).
        var bare = await Store.FindCandidatesAsync<InstanceRecord>(Candidates.BareFreeInstances, 1, cancellationToken).ConfigureAwait(false);
        var loose = await Store.FindCandidatesAsync<VolumeRecord>(Candidates.LooseFreeVolumes, 1, cancellationToken).ConfigureAwait(false);
        if (await PoolCapacity.WouldRefuseAsync(Store, engine.Settings.Pool, bare.Count == 0 ? 1 : 0, loose.Count == 0 ? 1 : 0, cancellationToken).ConfigureAwait(false) is { } full)
        {
            return new SlowPathAtCapacity<ClaimedBox>(full);
        }

        var held = new List<StoreRecord>();
        try
        {
            var instance = await HoldFreeAsync(PoolCandidates.BareInstancesAsync, i => i with { Lease = HoldLease() }, cancellationToken).ConfigureAwait(false);
            var volume = await HoldFreeAsync(PoolCandidates.LooseVolumesAsync, v => v with { Lease = HoldLease() }, cancellationToken).ConfigureAwait(false);
            held.AddRange(new StoreRecord?[] { instance, volume }.OfType<StoreRecord>());

            var golden = volume is null ? await GoldenAsync(cancellationToken).ConfigureAwait(false) : null;
            var wanted = new List<StoreRecord>();
            if (instance is null)
            {
                wanted.Add(NewInstanceRow());
            }

            if (golden is not null)
            {
                wanted.Add(NewVolumeRow(golden));
            }

            var made = await MakeAsync(wanted, golden, held, SlowPathWork.Box, cancellationToken).ConfigureAwait(false);
            if (made.Refused is { } limit)
            {
                return new SlowPathAtCapacity<ClaimedBox>(limit);
            }

            var ready = made.Rows;
            instance = ready.OfType<InstanceRecord>().SingleOrDefault() ?? instance!;
            volume = ready.OfType<VolumeRecord>().SingleOrDefault() ?? volume!;
            return await BindAsync(bind(instance with { Lease = null, Mark = null }, volume with { Lease = null, Mark = null }), [.. held, .. ready], cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            await LetGoAsync(held).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>A returning box and no instance free (none bare, no ready pair to unpair): make an instance, bind.</summary>
    public async Task<SlowPathOutcome<ClaimedBox>> ReturningAsync(Func<InstanceRecord, ClaimAttempt<ClaimedBox>> bind, CancellationToken cancellationToken)
    {
        if (await PoolCapacity.WouldRefuseAsync(Store, engine.Settings.Pool, instances: 1, volumes: 0, cancellationToken).ConfigureAwait(false) is { } full)
        {
            return new SlowPathAtCapacity<ClaimedBox>(full);
        }

        var made = await MakeAsync([NewInstanceRow()], null, [], SlowPathWork.Box, cancellationToken).ConfigureAwait(false);
        if (made.Refused is { } limit)
        {
            return new SlowPathAtCapacity<ClaimedBox>(limit);
        }

        var instance = (InstanceRecord)made.Rows[0];
        return await BindAsync(bind(instance with { Mark = null }), made.Rows, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A box that needs a volume and nothing else (a spinup: it does not run) and no loose volume left: make one
    /// from the golden within the caps, bind it. No instance is held or made.
    /// </summary>
    public async Task<SlowPathOutcome<T>> NewVolumeAsync<T>(Func<VolumeRecord, ClaimAttempt<T>> bind, CancellationToken cancellationToken)
    {
        if (await PoolCapacity.WouldRefuseAsync(Store, engine.Settings.Pool, instances: 0, volumes: 1, cancellationToken).ConfigureAwait(false) is { } full)
        {
            return new SlowPathAtCapacity<T>(full);
        }

        var golden = await GoldenAsync(cancellationToken).ConfigureAwait(false);
        var made = await MakeAsync([NewVolumeRow(golden)], golden, [], SlowPathWork.Volume, cancellationToken).ConfigureAwait(false);
        if (made.Refused is { } limit)
        {
            return new SlowPathAtCapacity<T>(limit);
        }

        var volume = (VolumeRecord)made.Rows[0];
        return await BindAsync(bind(volume with { Mark = null }), made.Rows, cancellationToken).ConfigureAwait(false);
    }

    private async Task<GoldenSnapshotInfo> GoldenAsync(CancellationToken cancellationToken) =>
        await engine.Infrastructure.GetGoldenSnapshotAsync(cancellationToken).ConfigureAwait(false)
            ?? throw ShellboxException.Service("GoldenSnapshotMissing", "There is no golden snapshot to make a box from; the operator must run New-ShellboxGoldenSnapshot.");

    /// <summary>Leases the first free row a claim finds to this connect, or null when there is none.</summary>
    private Task<T?> HoldFreeAsync<T>(Func<IPoolStore, CancellationToken, IAsyncEnumerable<T>> candidates, Func<T, T> leased, CancellationToken cancellationToken)
        where T : StoreRecord =>
        PoolClaims.ClaimFirstAsync(
            Store,
            ct => candidates(Store, ct),
            row =>
            {
                var held = leased(row);
                return new ClaimAttempt<T>([row], [StoreWrite.Replace(held)], rows => rows.Of(held));
            },
            cancellationToken);

    /// <summary>
    /// Inserts <paramref name="wanted"/> within the caps (nothing when a cap refuses), tells the user, and makes each
    /// resource in the provider. Returns the rows with their provider details filled in, still marked creating. A
    /// provider with no room of its own (<see cref="ProviderAtCapacityException"/>) refuses like a cap: what was
    /// inserted and held is undone and let go, and the caller gets the limit.
    /// </summary>
    private async Task<Made> MakeAsync(IReadOnlyList<StoreRecord> wanted, GoldenSnapshotInfo? golden, IReadOnlyList<StoreRecord> held, SlowPathWork work, CancellationToken cancellationToken)
    {
        if (wanted.Count == 0)
        {
            return new Made([], null);
        }

        var reserved = await trace.TimeAsync("reserve", () => PoolCapacity.InsertWithinCapsAsync(Store, engine.Settings.Pool, wanted, trace.CorrelationId, engine.Time.GetUtcNow(), cancellationToken)).ConfigureAwait(false);
        if (reserved.Refused is { } limit)
        {
            await LetGoAsync(held).ConfigureAwait(false);
            return new Made([], limit);
        }

        CrashPoints.Reach(CrashPoints.DuringMake);
        var notice = new ConnectNotice(await SlowPathTimes.EstimateSecondsAsync(engine, work, cancellationToken).ConfigureAwait(false));
        var creating = Task.WhenAll(reserved.Inserted.Select(row => CreateAsync(row, golden, cancellationToken)));
        try
        {
            var rows = await trace.TimeAsync("create", async () =>
            {
                await TellUnlessRefusedAtOnceAsync(creating, notice, cancellationToken).ConfigureAwait(false);
                return await creating.ConfigureAwait(false);
            }).ConfigureAwait(false);
            return new Made(rows, null);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            // A failed create is undone now; if even that fails, the row keeps its mark and reconcile resets it after expiry.
            // A cancelled connect (Ctrl+C, the ssh session gone) leaves the marks to reconcile the same way.
            foreach (var row in reserved.Inserted)
            {
                await UndoCreateAsync(row).ConfigureAwait(false);
            }

            if (creating.Exception?.InnerExceptions.OfType<ProviderAtCapacityException>().FirstOrDefault() is { } full)
            {
                await LetGoAsync(held).ConfigureAwait(false);
                return new Made([], new CapacityLimit(full.Role, full.Cap, full.Cap));
            }

            throw;
        }
    }

    /// <summary>
    /// Tells the user once, before the wait: as soon as the creates have run for <see cref="RefusalGrace"/>, or when
    /// they finished sooner and well (the first resume is still ahead); never when they failed within the grace.
    /// </summary>
    private async Task TellUnlessRefusedAtOnceAsync(Task creating, ConnectNotice notice, CancellationToken cancellationToken)
    {
        if (notices is null)
        {
            return;
        }

        using var graceOver = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var grace = Task.Delay(RefusalGrace, engine.Time, graceOver.Token);
        var first = await Task.WhenAny(creating, grace).ConfigureAwait(false);
        await graceOver.CancelAsync().ConfigureAwait(false);
        if (first == grace ? grace.IsCompletedSuccessfully : creating.IsCompletedSuccessfully)
        {
            notices.Report(notice);
        }
    }

    private async Task<StoreRecord> CreateAsync(StoreRecord row, GoldenSnapshotInfo? golden, CancellationToken cancellationToken)
    {
        switch (row)
        {
            case InstanceRecord instance:
                var info = await engine.Infrastructure.CreateInstanceAsync(instance.Id, ResourceTags.For(instance with { Status = ResourceStatuses.Free }), cancellationToken).ConfigureAwait(false);
                return instance with { Endpoint = info.Endpoint, HostKey = info.HostKey };
            case VolumeRecord volume:
                await engine.Infrastructure.CreateVolumeAsync(volume.Id, golden!, ResourceTags.For(volume with { Status = ResourceStatuses.Free }), cancellationToken).ConfigureAwait(false);
                return volume;
            default:
                throw new ArgumentException($"The slow path makes instances and volumes, not {row.Kind}.", nameof(row));
        }
    }

    /// <summary>
    /// The one commit that binds what was held and made to the box. When a rival connect bound the box first (its
    /// insert, or its move of a returning box, conflicts), everything goes back to the pool and the caller decides again.
    /// </summary>
    private async Task<SlowPathOutcome<T>> BindAsync<T>(ClaimAttempt<T> attempt, IReadOnlyList<StoreRecord> ours, CancellationToken cancellationToken)
    {
        try
        {
            var written = await trace.TimeAsync("claim", () => Store.CommitAsync(attempt.Writes, cancellationToken)).ConfigureAwait(false);
            return new SlowPathMade<T>(attempt.Result(new CommittedRows(written)));
        }
        catch (StoreConflictException e) when (!ours.Any(r => r.Key == e.Key))
        {
            await PutInPoolAsync(ours, cancellationToken).ConfigureAwait(false);
            return new SlowPathDecideAgain<T>($"{e.Key} was bound by another connect while this one made its resources");
        }
    }

    /// <summary>Rows this connect held or made, back in the pool as free: unleased, unmarked.</summary>
    private async Task PutInPoolAsync(IReadOnlyList<StoreRecord> ours, CancellationToken cancellationToken)
    {
        var writes = ours.Select(r => StoreWrite.Replace(r switch
        {
            InstanceRecord i => i with { Status = ResourceStatuses.Free, Lease = null, Mark = null },
            VolumeRecord v => v with { Status = ResourceStatuses.Free, Lease = null, Mark = null },
            _ => r,
        })).ToList();
        await Store.CommitAsync(writes, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Best effort: free what this connect leased; if that fails, the lease expires and reconcile frees it.</summary>
    private async Task LetGoAsync(IReadOnlyList<StoreRecord> held)
    {
        foreach (var row in held)
        {
            try
            {
                await ConflictRetry.RunAsync(async () =>
                {
                    StoreRecord? current = row is InstanceRecord
                        ? await Store.GetAsync<InstanceRecord>(row.Id, CancellationToken.None).ConfigureAwait(false)
                        : await Store.GetAsync<VolumeRecord>(row.Id, CancellationToken.None).ConfigureAwait(false);
                    StoreRecord? freed = current switch
                    {
                        InstanceRecord { Lease.CorrelationId: var c } i when c == trace.CorrelationId => i with { Lease = null },
                        VolumeRecord { Lease.CorrelationId: var c } v when c == trace.CorrelationId => v with { Lease = null },
                        _ => null,
                    };
                    if (freed is not null)
                    {
                        await Store.ReplaceAsync(freed, CancellationToken.None).ConfigureAwait(false);
                    }
                }, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Observability.ShellboxLog.Dropped("Shellbox.Core.SlowPath", $"freeing {row.Key} held by a failed slow path failed; its lease expires and reconcile frees it", e);
            }
        }
    }

    /// <summary>Best effort: delete what a failed create left, then its row; else the row keeps its mark for reconcile's reset.</summary>
    private async Task UndoCreateAsync(StoreRecord row)
    {
        try
        {
            await (row is InstanceRecord
                ? engine.Infrastructure.DeleteInstanceAsync(row.Id, CancellationToken.None)
                : engine.Infrastructure.DeleteVolumeAsync(row.Id, CancellationToken.None)).ConfigureAwait(false);
            await Store.DeleteAsync(row, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Observability.ShellboxLog.Dropped("Shellbox.Core.SlowPath", $"undo of the failed create of {row.Key} failed; its create mark expires and reconcile resets it", e);
        }
    }

    private InstanceRecord NewInstanceRow()
    {
        var now = engine.Time.GetUtcNow();
        return new InstanceRecord { Id = engine.Ids.NewResourceId(ResourceRoles.Instance), Status = ResourceStatuses.Creating, Created = now, LastUsed = now, Mark = CreateMark(now) };
    }

    private VolumeRecord NewVolumeRow(GoldenSnapshotInfo golden)
    {
        var now = engine.Time.GetUtcNow();
        return new VolumeRecord { Id = engine.Ids.NewResourceId(ResourceRoles.Volume), Status = ResourceStatuses.Creating, Created = now, LastUsed = now, Golden = golden.Version, Mark = CreateMark(now) };
    }

    private TransitionMark CreateMark(DateTimeOffset now) => TransitionMark.Start(TransitionAct.Create, trace.CorrelationId, now);

    /// <summary>A free row held while the other half is made: as long as a create may take, then reconcile frees it.</summary>
    private Lease HoldLease() =>
        new($"slow-path:{trace.CorrelationId}", engine.Time.GetUtcNow() + TransitionMark.DurationOf(TransitionAct.Create), trace.CorrelationId);

    private sealed record Made(IReadOnlyList<StoreRecord> Rows, CapacityLimit? Refused);
}

/// <summary>How a slow path ended (never an exception for an expected outcome); <typeparamref name="T"/> is what it bound.</summary>
internal abstract record SlowPathOutcome<T>;

/// <summary>The box is bound to what was held and made; a connect attaches and resumes it, a spinup is done.</summary>
internal sealed record SlowPathMade<T>(T Claimed) : SlowPathOutcome<T>;

/// <summary>A cap (the pool's, or the provider's own room) refused the create: the user is told the pool is at capacity.</summary>
internal sealed record SlowPathAtCapacity<T>(CapacityLimit Limit) : SlowPathOutcome<T>;

/// <summary>A rival bound the box meanwhile; what was made is back in the pool, and the caller decides again.</summary>
internal sealed record SlowPathDecideAgain<T>(string Why) : SlowPathOutcome<T>;
