using Shellbox.Core.Errors;
using Shellbox.Core.Model;
using Shellbox.Core.Observability;
using Shellbox.Core.Ports;
using Shellbox.Core.Store;

namespace Shellbox.Contracts;

/// <summary>
/// What every <see cref="IPoolStore"/> must do. An adapter's test class derives from this and says how
/// to make an empty store.
/// </summary>
public abstract class PoolStoreContract
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 25, 9, 0, 0, TimeSpan.Zero);

    /// <summary>A new, empty store, private to the calling test.</summary>
    protected abstract Task<IPoolStore> CreateStoreAsync();

    protected static InstanceRecord Instance(string id, string status = ResourceStatuses.Free) =>
        new() { Id = id, Status = status, Created = T0, LastUsed = T0 };

    protected static VolumeRecord Volume(string id) =>
        new() { Id = id, Status = ResourceStatuses.Free, Created = T0, LastUsed = T0, Golden = "golden-snapshot-test" };

    [Fact]
    public async Task A_new_store_reads_an_empty_snapshot()
    {
        var store = await CreateStoreAsync();
        var snapshot = await store.ReadSnapshotAsync();
        Assert.Empty(snapshot.Instances);
        Assert.Empty(snapshot.Volumes);
        Assert.Empty(snapshot.Boxes);
    }

    [Fact]
    public async Task Inserted_rows_read_back_with_every_field_and_an_etag()
    {
        var store = await CreateStoreAsync();
        var lease = new Lease("connect-1", T0.AddMinutes(5), "corr-1");
        var instance = Instance("i-1") with { VolumeId = "v-1", Endpoint = "127.0.0.1:22001", BoxRunning = true, Lease = lease };
        var box = new BoxRecord { Id = BoxRecord.IdFor("u1", "dev33"), UserId = "u1", BoxName = "dev33", VolumeId = "v-1", Created = T0, Sessions = [new BoxSession("s1", T0.AddMinutes(2), "c1"), new BoxSession("s2", T0.AddMinutes(3), "c2")] };
        await store.CommitAsync([StoreWrite.Insert(instance), StoreWrite.Insert(Volume("v-1")), StoreWrite.Insert(box)]);

        var read = await store.GetAsync<InstanceRecord>("i-1");
        Assert.NotNull(read);
        Assert.False(string.IsNullOrEmpty(read.ETag));
        Assert.Equal(instance with { ETag = read.ETag }, read);
        var snapshot = await store.ReadSnapshotAsync();
        Assert.Equal(["i-1"], snapshot.Instances.Select(i => i.Id));
        Assert.Equal(["v-1"], snapshot.Volumes.Select(v => v.Id));
        Assert.Equal(2, Assert.Single(snapshot.Boxes).Connections);
        Assert.Null(await store.GetAsync<VolumeRecord>("v-missing"));
    }

    [Fact]
    public async Task Inserting_a_row_that_exists_is_refused()
    {
        var store = await CreateStoreAsync();
        await store.InsertAsync(Instance("i-1"));
        await Assert.ThrowsAsync<StoreConflictException>(() => store.InsertAsync(Instance("i-1", ResourceStatuses.Connected)));
        Assert.Equal(ResourceStatuses.Free, (await store.GetAsync<InstanceRecord>("i-1"))!.Status);
    }

    [Fact]
    public async Task A_stale_write_is_refused_and_the_row_keeps_the_winner()
    {
        var store = await CreateStoreAsync();
        var original = await store.InsertAsync(Instance("i-1"));
        await store.ReplaceAsync(original with { Status = ResourceStatuses.Connected });

        await Assert.ThrowsAsync<StoreConflictException>(() => store.ReplaceAsync(original with { Status = ResourceStatuses.Deleting }));
        await Assert.ThrowsAsync<StoreConflictException>(() => store.DeleteAsync(original));
        Assert.Equal(ResourceStatuses.Connected, (await store.GetAsync<InstanceRecord>("i-1"))!.Status);
    }

    [Fact]
    public async Task Each_write_moves_the_etag_on()
    {
        var store = await CreateStoreAsync();
        var first = await store.InsertAsync(Instance("i-1"));
        var second = await store.ReplaceAsync(first with { LastUsed = T0.AddMinutes(1) });
        var third = await store.ReplaceAsync(second with { LastUsed = T0.AddMinutes(2) });
        Assert.Equal(3, new[] { first.ETag, second.ETag, third.ETag }.Distinct().Count());
        await store.DeleteAsync(third);
        Assert.Null(await store.GetAsync<InstanceRecord>("i-1"));
    }

    [Fact]
    public async Task A_commit_with_one_stale_write_writes_nothing()
    {
        var store = await CreateStoreAsync();
        var instance = await store.InsertAsync(Instance("i-1"));
        var volume = await store.InsertAsync(Volume("v-1"));
        await store.ReplaceAsync(volume with { LastUsed = T0.AddMinutes(1) });

        await Assert.ThrowsAsync<StoreConflictException>(() => store.CommitAsync(
        [
            StoreWrite.Replace(instance with { Status = ResourceStatuses.Connected }),
            StoreWrite.Insert(Instance("i-2")),
            StoreWrite.Replace(volume with { UserId = "u1" }),
        ]));

        var snapshot = await store.ReadSnapshotAsync();
        Assert.Equal(ResourceStatuses.Free, Assert.Single(snapshot.Instances).Status);
        Assert.Null(Assert.Single(snapshot.Volumes).UserId);
    }

    [Fact]
    public async Task Racing_claims_hand_each_free_resource_to_exactly_one_caller()
    {
        const int Callers = 12;
        const int Free = 5;
        var store = await CreateStoreAsync();
        for (var i = 0; i < Free; i++)
        {
            await store.InsertAsync(Instance($"i-{i}"));
        }

        // An async gate, not a Barrier: blocking pool threads would starve the pool instead of racing.
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var racers = Enumerable.Range(0, Callers).Select(caller => Task.Run(async () =>
        {
            await start.Task;
            var won = await PoolClaims.ClaimFirstAsync(
                store,
                ct => PoolCandidates.BareInstancesAsync(store, ct),
                i =>
                {
                    var taken = i with { Status = ResourceStatuses.Connected, Lease = new Lease($"caller-{caller}", T0.AddMinutes(5), $"c{caller}") };
                    return new ClaimAttempt<InstanceRecord>([i], [StoreWrite.Replace(taken)], rows => rows.Of(taken));
                });
            return won?.Lease!.Holder;
        })).ToList();
        start.SetResult();
        var claims = await Task.WhenAll(racers);

        var winners = claims.Where(c => c is not null).ToList();
        Assert.Equal(Free, winners.Count);
        Assert.Equal(Callers - Free, claims.Count(c => c is null));
        var stored = (await store.ReadSnapshotAsync()).Instances;
        Assert.All(stored, i => Assert.Equal(ResourceStatuses.Connected, i.Status));
        Assert.Equal(winners.Order(), stored.Select(i => i.Lease!.Holder).Order());
    }

    [Fact]
    public async Task A_conflict_names_the_row_that_lost()
    {
        var store = await CreateStoreAsync();
        var instance = await store.InsertAsync(Instance("i-1"));
        var volume = await store.InsertAsync(Volume("v-1"));
        await store.ReplaceAsync(volume with { LastUsed = T0.AddMinutes(1) });

        var stale = await Assert.ThrowsAsync<StoreConflictException>(() => store.CommitAsync(
            [StoreWrite.Replace(instance with { Status = ResourceStatuses.Connected }), StoreWrite.Replace(volume with { UserId = "u1" })]));
        var exists = await Assert.ThrowsAsync<StoreConflictException>(() => store.CommitAsync(
            [StoreWrite.Replace(instance with { Status = ResourceStatuses.Connected }), StoreWrite.Insert(Volume("v-1"))]));

        Assert.Equal(volume.Key, stale.Key);
        Assert.Equal(volume.Key, exists.Key);
    }

    [Fact]
    public async Task Candidate_queries_find_each_class_oldest_used_first()
    {
        var store = await CreateStoreAsync();
        var lease = new Lease("connect-1", T0.AddMinutes(5), "corr-1");
        await store.CommitAsync(
        [
            StoreWrite.Insert(Instance("i-new") with { LastUsed = T0.AddMinutes(3) }),
            StoreWrite.Insert(Instance("i-old") with { LastUsed = T0.AddMinutes(1) }),
            StoreWrite.Insert(Instance("i-mid") with { LastUsed = T0.AddMinutes(2) }),
            StoreWrite.Insert(Instance("i-pair") with { VolumeId = "v-pair", BoxRunning = true }),
            StoreWrite.Insert(Volume("v-pair") with { InstanceId = "i-pair" }),
            StoreWrite.Insert(Volume("v-loose-2") with { LastUsed = T0.AddMinutes(2) }),
            StoreWrite.Insert(Volume("v-loose-1") with { LastUsed = T0.AddMinutes(1) }),
            StoreWrite.Insert(Instance("i-leased") with { Lease = lease }),
            StoreWrite.Insert(Instance("i-connected", ResourceStatuses.Connected)),
            StoreWrite.Insert(Instance("i-creating", ResourceStatuses.Creating)),
            StoreWrite.Insert(Instance("i-pair-leased") with { VolumeId = "v-x", BoxRunning = true, Lease = lease }),
            StoreWrite.Insert(Volume("v-owned") with { UserId = "u1", BoxName = "dev33", Status = ResourceStatuses.Suspended }),
            StoreWrite.Insert(Volume("v-unowned-suspended") with { Status = ResourceStatuses.Suspended }),
            StoreWrite.Insert(Volume("v-leased") with { Lease = lease }),
            StoreWrite.Insert(new BoxRecord { Id = "u1.dev33", UserId = "u1", BoxName = "dev33", VolumeId = "v-owned", Created = T0 }),
        ]);

        var bare = await store.FindCandidatesAsync<InstanceRecord>(Candidates.BareFreeInstances);
        var pairs = await store.FindCandidatesAsync<InstanceRecord>(Candidates.ReadyPairInstances);
        var loose = await store.FindCandidatesAsync<VolumeRecord>(Candidates.LooseFreeVolumes);

        Assert.Equal(["i-old", "i-mid", "i-new"], bare.Select(i => i.Id));
        Assert.Equal(["i-pair"], pairs.Select(i => i.Id));
        Assert.Equal(["v-loose-1", "v-loose-2"], loose.Select(v => v.Id));
        Assert.Equal((await store.GetAsync<InstanceRecord>("i-old"))!, bare[0]);
    }

    [Fact]
    public async Task A_candidate_query_returns_at_most_max_rows_oldest_used_first()
    {
        var store = await CreateStoreAsync();
        await store.CommitAsync(Enumerable.Range(0, 25).Select(i => StoreWrite.Insert(Instance($"i-{i:00}") with { LastUsed = T0.AddMinutes((i * 7) % 25) })).ToList());

        var few = await store.FindCandidatesAsync<InstanceRecord>(Candidates.BareFreeInstances, 3);
        var some = await store.FindCandidatesAsync<InstanceRecord>(Candidates.BareFreeInstances);

        Assert.Equal(3, few.Count);
        Assert.Equal(ShellboxLimits.MaxQueryResults, some.Count);
        Assert.Equal(some.OrderBy(i => i.LastUsed).Select(i => i.Id), some.Select(i => i.Id));
        Assert.Equal(few.OrderBy(i => i.LastUsed).Select(i => i.Id), few.Select(i => i.Id));
        Assert.Equal(some.Count, some.Select(i => i.Id).Distinct().Count());
    }

    [Fact]
    public async Task The_candidate_index_follows_every_replace_and_delete()
    {
        var store = await CreateStoreAsync();
        async Task<string> ClassOf(string id)
        {
            var found = new List<string>();
            foreach (var which in new[] { Candidates.BareFreeInstances, Candidates.ReadyPairInstances })
            {
                if ((await store.FindCandidatesAsync<InstanceRecord>(which)).Any(i => i.Id == id))
                {
                    found.Add(which.ToString());
                }
            }

            return found.Count == 0 ? "none" : string.Join("+", found);
        }

        var instance = await store.InsertAsync(Instance("i-1"));
        Assert.Equal("BareFreeInstances", await ClassOf("i-1"));

        instance = await store.ReplaceAsync(instance with { Status = ResourceStatuses.Connected, Lease = new Lease("b", T0.AddMinutes(5), "c") });
        Assert.Equal("none", await ClassOf("i-1"));

        instance = await store.ReplaceAsync(instance with { Status = ResourceStatuses.Free, Lease = null, VolumeId = "v-1", BoxRunning = true });
        Assert.Equal("ReadyPairInstances", await ClassOf("i-1"));

        // A candidate read back carries a live ETag: it can be claimed with it.
        var candidate = Assert.Single(await store.FindCandidatesAsync<InstanceRecord>(Candidates.ReadyPairInstances));
        instance = await store.ReplaceAsync(candidate with { VolumeId = null, BoxRunning = false });
        Assert.Equal("BareFreeInstances", await ClassOf("i-1"));

        await store.DeleteAsync(instance);
        Assert.Equal("none", await ClassOf("i-1"));
    }

    [Fact]
    public async Task A_candidate_query_for_the_wrong_record_type_is_refused()
    {
        var store = await CreateStoreAsync();
        await Assert.ThrowsAsync<ArgumentException>(() => store.FindCandidatesAsync<VolumeRecord>(Candidates.BareFreeInstances));
    }

    [Fact]
    public async Task Events_read_back_newest_first()
    {
        var store = await CreateStoreAsync();
        for (var i = 0; i < 5; i++)
        {
            await store.AppendEventAsync(new PoolEvent(T0.AddSeconds(i), "corr", "create", ResourceRoles.Volume, $"v-{i}", true, $"created v-{i}"));
        }

        var events = await store.ReadEventsAsync(3);
        Assert.Equal(["v-4", "v-3", "v-2"], events.Select(e => e.ResourceId));
    }

    [Fact]
    public async Task Events_of_one_kind_are_found_behind_many_newer_events_of_another_kind()
    {
        // GIVEN one scale-down followed by 300 connects (a busy pool)
        var store = await CreateStoreAsync();
        await store.AppendEventAsync(new PoolEvent(T0, "corr", "scale-down", ResourceRoles.Instance, "i-old", true, "deleted i-old"));
        for (var i = 0; i < 300; i++)
        {
            await store.AppendEventAsync(new PoolEvent(T0.AddSeconds(1 + i), $"c-{i}", "connect", "box", $"alice.dev{i % 3}", true, "path=returning total_ms=12"));
        }

        // WHEN the scale-downs are queried THEN the one there is comes back, and connects by box come newest first
        var scaleDowns = await store.QueryEventsAsync(new EventQuery { Kind = "scale-down", Role = ResourceRoles.Instance });
        Assert.Equal(["i-old"], scaleDowns.Select(e => e.ResourceId));
        Assert.Empty(await store.QueryEventsAsync(new EventQuery { Kind = "scale-down", Role = ResourceRoles.Volume }));

        var ofBox = await store.QueryEventsAsync(new EventQuery { Kind = "connect", ResourceId = "alice.dev1", Max = 3 });
        Assert.Equal(["c-298", "c-295", "c-292"], ofBox.Select(e => e.CorrelationId));
        Assert.Equal(10, (await store.QueryEventsAsync(new EventQuery { Max = 10 })).Count);
    }

    [Fact]
    public async Task Pruning_events_drops_those_past_the_age_and_beyond_the_count_and_keeps_the_newest()
    {
        var store = await CreateStoreAsync();
        for (var i = 0; i < 12; i++)
        {
            // One a day: day 0 is the oldest.
            await store.AppendEventAsync(new PoolEvent(T0.AddDays(i), $"c-{i}", "create", ResourceRoles.Volume, $"v-{i}", true, $"created v-{i}"));
        }

        // Older than day 3: days 0, 1, 2 go.
        Assert.Equal(3, await store.PruneEventsAsync(T0.AddDays(3), keepNewest: 100));
        Assert.Equal(9, (await store.ReadEventsAsync(100)).Count);

        // Keep the newest 4 of the 9 left.
        Assert.Equal(5, await store.PruneEventsAsync(T0, keepNewest: 4));
        Assert.Equal(["v-11", "v-10", "v-9", "v-8"], (await store.ReadEventsAsync(100)).Select(e => e.ResourceId));

        // Nothing more to do: nothing deleted.
        Assert.Equal(0, await store.PruneEventsAsync(T0, keepNewest: 4));
    }

    [Fact]
    public async Task Listing_a_users_boxes_returns_exactly_theirs_by_name_and_none_of_a_user_whose_id_starts_alike()
    {
        var store = await CreateStoreAsync();
        BoxRecord Box(string user, string name) => new() { Id = BoxRecord.IdFor(user, name), UserId = user, BoxName = name, VolumeId = $"v-{user}-{name}", Created = T0 };
        await store.CommitAsync(
        [
            StoreWrite.Insert(Box("alice", "web")),
            StoreWrite.Insert(Box("alice", "dev33")),
            StoreWrite.Insert(Box("alice2", "dev")),
            StoreWrite.Insert(Box("alice-x", "dev")),
            StoreWrite.Insert(Box("bob", "dev")),
        ]);

        var boxes = await store.ListBoxesAsync("alice");

        Assert.Equal(["dev33", "web"], boxes.Select(b => b.BoxName));
        Assert.All(boxes, b => Assert.False(string.IsNullOrEmpty(b.ETag)));
        Assert.Empty(await store.ListBoxesAsync("carol"));
    }

    [Fact]
    public async Task A_blocked_user_reads_back_is_found_by_the_blocked_index_and_leaves_it_when_unblocked()
    {
        var store = await CreateStoreAsync();
        await store.InsertAsync(Instance("i-1"));
        var mallory = await store.InsertAsync(new UserRecord { Id = "3f9a0c5e7b2d4e6f8a1c3e5f7b9d0a2c", BlockedAt = T0.AddMinutes(1), BlockReason = "mining" });
        await store.InsertAsync(new UserRecord { Id = "eve", BlockedAt = T0 });

        var read = await store.GetAsync<UserRecord>("3f9a0c5e7b2d4e6f8a1c3e5f7b9d0a2c");
        Assert.Equal(mallory, read);
        Assert.Null(await store.GetAsync<UserRecord>("alice"));
        Assert.Equal(["eve", mallory.Id], (await store.FindCandidatesAsync<UserRecord>(Candidates.BlockedUsers, 100)).Select(u => u.Id));

        // A user row never shows up as a pool resource, and deleting it (unblock) takes it out of the index.
        var snapshot = await store.ReadSnapshotAsync();
        Assert.Equal(["i-1"], snapshot.Instances.Select(i => i.Id));
        Assert.Empty(snapshot.Boxes);
        await store.DeleteAsync(read!);
        Assert.Equal(["eve"], (await store.FindCandidatesAsync<UserRecord>(Candidates.BlockedUsers, 100)).Select(u => u.Id));
        await Assert.ThrowsAsync<StoreConflictException>(() => store.DeleteAsync(read!));
    }

    [Fact]
    public async Task The_capacity_guard_lets_exactly_one_of_eight_creators_that_counted_the_same_pool_take_the_last_place()
    {
        // GIVEN two instances of three allowed
        var store = await CreateStoreAsync();
        await store.CommitAsync([StoreWrite.Insert(Instance("i-1")), StoreWrite.Insert(Instance("i-2"))]);
        var caps = PoolConfig.Dev with { MaxTotalInstances = 3 };

        // WHEN eight creators each insert one more, all of them having counted the same two before any commits
        var together = new CountTogetherStore(store, readers: 8);
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 8).Select(n => Task.Run(() =>
            PoolCapacity.InsertWithinCapsAsync(together, caps, [Instance($"i-new-{n}", ResourceStatuses.Creating)], $"creator-{n}", T0))));

        // THEN one passes, seven are refused at the cap, and the pool holds three
        var passed = Assert.Single(outcomes, o => !o.AtCapacity);
        Assert.False(string.IsNullOrEmpty(Assert.Single(passed.Inserted).ETag));
        Assert.All(outcomes.Where(o => o.AtCapacity), o => Assert.Equal(new CapacityLimit(ResourceRoles.Instance, 3, 3), o.Refused));
        Assert.Equal(3, (await store.ReadSnapshotAsync()).Instances.Count);
    }
}
