using Microsoft.Extensions.Time.Testing;
using Shellbox.Core.Model;
using Shellbox.Core.Planning;
using static Shellbox.Core.Tests.Planning.PoolRows;

namespace Shellbox.Core.Tests.Planning;

/// <summary>Named cases for the reconcile contract: scaling, caps, back-off, ready pairs and drift repair.</summary>
public sealed class PoolPlannerTests
{
    private const string I = ResourceRoles.Instance;
    private const string V = ResourceRoles.Volume;

    [Fact]
    public void GivenEmptyPool_WhenPlannedWithDev_ThenCreatesOneInstanceAndTwoVolumes()
    {
        var plan = PoolPlanner.Plan(InStep(PoolSnapshot.Empty, Start));

        Assert.Equal(
            [new CreateResource(I), new CreateResource(V), new CreateResource(V)],
            plan.Actions);
        Assert.False(plan.IsNoop);
    }

    [Fact]
    public void GivenFreeAtMin_WhenPlanned_ThenNothingToDo()
    {
        // Dev: one free instance (a ready pair) and two free volumes, one of them its other half.
        var snapshot = Snapshot(
            [Instance("i1", volumeId: "v1", boxRunning: true)],
            [Volume("v1", instanceId: "i1"), Volume("v2")]);

        var plan = PoolPlanner.Plan(InStep(snapshot, Start));

        Assert.True(plan.IsNoop, plan.ToString());
        Assert.Equal("no changes", plan.ToString());
    }

    [Fact]
    public void GivenAReadyPairWhoseBoxTheInventoryListsAsStopped_WhenPlanned_ThenItIsRetiredAndOnlyIt()
    {
        // i1+v1 is a ready pair whose QEMU is gone (the host restarted); i2+v2 runs; i3 holds a user's box, also stopped.
        var snapshot = Snapshot(
            [Instance("i1", volumeId: "v1", boxRunning: true), Instance("i2", volumeId: "v2", boxRunning: true), Instance("i3", volumeId: "v3", boxRunning: true)],
            [Volume("v1", instanceId: "i1"), Volume("v2", instanceId: "i2"), Volume("v3", instanceId: "i3"), Volume("v4")],
            [Box("alice", "v3", "i3")]);
        var listed = InventoryOf(snapshot.Instances).Select(i => i with { BoxRunning = i.Id != "i2" ? false : true }).ToList();

        var plan = PoolPlanner.Plan(InStep(snapshot, Start) with { InstanceInventory = listed });

        Assert.Equal([new RetireDeadPair("i1", "v1")], plan.Actions.OfType<RetireDeadPair>());

        // A provider that cannot tell (null), or no inventory this pass: nothing is retired.
        Assert.Empty(PoolPlanner.Plan(InStep(snapshot, Start)).Actions.OfType<RetireDeadPair>());
        Assert.Empty(PoolPlanner.Plan(InStep(snapshot, Start) with { InstanceInventory = null }).Actions.OfType<RetireDeadPair>());
    }

    [Fact]
    public void GivenFreeAboveMax_WhenInsideCooldown_ThenNothingDeletedAndCooldownNoted()
    {
        var clock = new FakeTimeProvider(Start);
        var lastScaleDown = clock.GetUtcNow();
        clock.Advance(PoolConfig.Dev.ScaleDownCooldown - TimeSpan.FromSeconds(1));
        var input = InStep(Snapshot([Instance("i1"), Instance("i2"), Instance("i3")]), clock.GetUtcNow()) with
        {
            LastInstanceScaleDown = lastScaleDown,
        };

        var plan = PoolPlanner.Plan(input);

        Assert.Empty(plan.Deleted(I));
        Assert.Contains(plan.NotesFor(I), n => n.Contains("cooldown", StringComparison.Ordinal));
    }

    [Fact]
    public void GivenFreeAboveMax_WhenCooldownPassed_ThenDeletesLeastRecentlyUsedFirstTiesById()
    {
        var clock = new FakeTimeProvider(Start);
        var lastScaleDown = clock.GetUtcNow();
        clock.Advance(PoolConfig.Dev.ScaleDownCooldown);
        var now = clock.GetUtcNow();
        var snapshot = Snapshot([
            Instance("i-new", lastUsed: now.AddMinutes(-1)),
            Instance("i-b", lastUsed: now.AddHours(-3)),
            Instance("i-a", lastUsed: now.AddHours(-3)),
            Instance("i-mid", lastUsed: now.AddHours(-2)),
            Instance("i-oldest", lastUsed: now.AddHours(-9)),
        ]);

        var plan = PoolPlanner.Plan(InStep(snapshot, now) with { LastInstanceScaleDown = lastScaleDown });

        // 5 free, Dev max free 2: three go, oldest first, "i-a" before "i-b" on the tie.
        Assert.Equal(["i-oldest", "i-a", "i-b"], plan.Deleted(I));
    }

    [Fact]
    public void GivenNoScaleDownYet_WhenFreeAboveMax_ThenDeletesWithoutWaiting()
    {
        var snapshot = Snapshot(volumes: Enumerable.Range(0, 7).Select(n => Volume($"v{n}", lastUsed: Start.AddMinutes(-n))));

        var plan = PoolPlanner.Plan(InStep(snapshot, Start));

        Assert.Equal(["v6", "v5"], plan.Deleted(V));
    }

    [Fact]
    public void GivenPoolNearMaxTotal_WhenBelowMinFree_ThenCreatesClampedToTheCapAndNoted()
    {
        var config = (PoolConfig.Dev with { MinFreeInstances = 3, MaxFreeInstances = 3 }).Validate();
        var busy = Enumerable.Range(0, 4).Select(n => Instance($"i{n}", ResourceStatuses.Connected, volumeId: $"v{n}"));

        var plan = PoolPlanner.Plan(InStep(Snapshot(busy), Start, config));

        Assert.Equal(1, plan.Creates(I));
        Assert.Contains(plan.NotesFor(I), n => n.Contains("max total 5", StringComparison.Ordinal));
    }

    [Fact]
    public void GivenPoolAtMaxTotal_WhenBelowMinFree_ThenNoCreate()
    {
        var busy = Enumerable.Range(0, 5).Select(n => Instance($"i{n}", ResourceStatuses.Connected));

        var plan = PoolPlanner.Plan(InStep(Snapshot(busy), Start));

        Assert.Equal(0, plan.Creates(I));
    }

    [Fact]
    public void GivenClaimedAttachedOwnedAndReferencedRows_WhenFarAboveMaxFree_ThenOnlyLooseOnesAreDeleted()
    {
        var ancient = Start.AddDays(-30);
        var instances = new[]
        {
            Instance("i-pair", volumeId: "v-pair", boxRunning: true, lastUsed: ancient),
            Instance("i-half", volumeId: "v-half", lastUsed: ancient),
            Instance("i-boxed", lastUsed: ancient),
            Instance("i-claimed", lease: LeaseUntil(Start.AddMinutes(5)), lastUsed: ancient),
            Instance("i-expired-claim", lease: LeaseUntil(Start.AddMinutes(-5)), lastUsed: ancient),
            Instance("i-connected", ResourceStatuses.Connected, lastUsed: ancient),
            Instance("i-loose"),
        };
        var volumes = new[]
        {
            Volume("v-pair", instanceId: "i-pair", lastUsed: ancient),
            Volume("v-half", lastUsed: ancient),
            Volume("v-owned", ResourceStatuses.Free, userId: "ada", lastUsed: ancient),
            Volume("v-boxed", lastUsed: ancient),
            Volume("v-claimed", lease: LeaseUntil(Start.AddMinutes(5)), lastUsed: ancient),
            Volume("v-attached", ResourceStatuses.Attached, instanceId: "i-boxed", lastUsed: ancient),
            Volume("v-loose-1"),
            Volume("v-loose-2"),
            Volume("v-loose-3"),
            Volume("v-loose-4"),
        };
        var config = (PoolConfig.Dev with { MinFreeInstances = 0, MaxFreeInstances = 0, MinFreeVolumes = 0, MaxFreeVolumes = 0 }).Validate();
        var snapshot = Snapshot(instances, volumes, [Box("bob", "v-boxed", instanceId: "i-boxed")]);

        var plan = PoolPlanner.Plan(InStep(snapshot, Start, config));

        Assert.Equal(["i-loose"], plan.Deleted(I));
        Assert.Equal(["v-loose-1", "v-loose-2", "v-loose-3", "v-loose-4"], plan.Deleted(V));
        Assert.Contains(plan.NotesFor(V), n => n.Contains("only 4 can be deleted", StringComparison.Ordinal));
    }

    [Fact]
    public void GivenThreeFailures_WhenInsideBackOffWindow_ThenNoCreatesUntilItPasses()
    {
        var clock = new FakeTimeProvider(Start);
        var failures = new FailureHistory(3, clock.GetUtcNow());
        PoolPlan PlanNow() => PoolPlanner.Plan(InStep(PoolSnapshot.Empty, clock.GetUtcNow()) with { InstanceFailures = failures });

        // Dev checks every 30 s; three failures back off 30 s * 2 = 1 minute.
        clock.Advance(TimeSpan.FromSeconds(59));
        var during = PlanNow();
        clock.Advance(TimeSpan.FromSeconds(1));
        var after = PlanNow();

        Assert.Equal(0, during.Creates(I));
        Assert.Equal(2, during.Creates(V));
        Assert.Contains(during.NotesFor(I), n => n.StartsWith("backing off creates until 2025-01-06T09:01:00", StringComparison.Ordinal));
        Assert.Equal(1, after.Creates(I));
        Assert.DoesNotContain(after.NotesFor(I), n => n.Contains("backing off", StringComparison.Ordinal));
    }

    [Fact]
    public void GivenTwoFailures_WhenPlanned_ThenCreatesGoOn()
    {
        var input = InStep(PoolSnapshot.Empty, Start) with { VolumeFailures = new FailureHistory(2, Start) };

        Assert.Equal(2, PoolPlanner.Plan(input).Creates(V));
    }

    [Theory]
    [InlineData(3, 1)]
    [InlineData(4, 2)]
    [InlineData(5, 4)]
    [InlineData(8, 30)]
    [InlineData(int.MaxValue, 30)]
    public void GivenFailures_WhenBackOffComputed_ThenWindowDoublesUpToThirtyMinutes(int failures, int minutes)
    {
        var until = new FailureHistory(failures, Start).BackOffUntil(TimeSpan.FromSeconds(30));

        Assert.Equal(Start.AddMinutes(minutes), until);
    }

    [Fact]
    public void GivenFreeInstancesWithoutVolumes_WhenFreeVolumesExist_ThenReadyPairsUseOldestVolumesFirst()
    {
        var snapshot = Snapshot(
            [Instance("i2", created: Start.AddHours(-1)), Instance("i1", created: Start.AddHours(-3)), Instance("i3", created: Start.AddHours(-2))],
            [
                Volume("v-young", created: Start.AddMinutes(-20)),
                Volume("v-old", created: Start.AddHours(-5)),
                Volume("v-owned", userId: "ada", created: Start.AddDays(-9)),
            ]);
        var config = (PoolConfig.Dev with { MinFreeVolumes = 0, MaxFreeInstances = 3 }).Validate();

        var plan = PoolPlanner.Plan(InStep(snapshot, Start, config));

        Assert.Equal(
            [new PairReadyPair("i1", "v-old"), new PairReadyPair("i3", "v-young")],
            plan.Actions.OfType<PairReadyPair>());
    }

    [Fact]
    public void GivenFourBareInstancesAndAMinimumOfFour_WhenPlanned_ThenTwoStayBareForReturningBoxesAndTwoArePaired()
    {
        var snapshot = Snapshot(
            [Instance("i1", created: Start.AddHours(-4)), Instance("i2", created: Start.AddHours(-3)), Instance("i3", created: Start.AddHours(-2)), Instance("i4", created: Start.AddHours(-1))],
            [Volume("v1", created: Start.AddHours(-4)), Volume("v2", created: Start.AddHours(-3)), Volume("v3", created: Start.AddHours(-2)), Volume("v4", created: Start.AddHours(-1))]);
        var config = (PoolConfig.Dev with { MinFreeInstances = 4, MaxFreeInstances = 4, MinFreeVolumes = 4 }).Validate();

        var plan = PoolPlanner.Plan(InStep(snapshot, Start, config));

        // A returning box then finds a bare instance (one attach), a new box a ready pair (no provider call).
        Assert.Equal([new PairReadyPair("i3", "v1"), new PairReadyPair("i4", "v2")], plan.Actions.OfType<PairReadyPair>());
    }

    [Fact]
    public void GivenExpiredAndLiveLeases_WhenPlanned_ThenOnlyTheExpiredOneIsReclaimed()
    {
        var snapshot = Snapshot(
            [Instance("i-dead", ResourceStatuses.Connected, lease: LeaseUntil(Start)), Instance("i-alive", ResourceStatuses.Connected, lease: LeaseUntil(Start.AddSeconds(1)))],
            [Volume("v-dead", ResourceStatuses.Attached, userId: "ada", lease: LeaseUntil(Start.AddMinutes(-1)))]);

        var plan = PoolPlanner.Plan(InStep(snapshot, Start));

        Assert.Equal(
            [new ReclaimLease(I, "i-dead"), new ReclaimLease(V, "v-dead")],
            plan.Actions.OfType<ReclaimLease>());
    }

    [Fact]
    public void GivenRowsMissingFromInventory_WhenPlanned_ThenGhostsForgottenButYoungCreatesAndUserBoxesKept()
    {
        var snapshot = Snapshot(
            [
                Instance("i-ghost"),
                Instance("i-creating-young", ResourceStatuses.Creating, created: Start.AddMinutes(-3), lastUsed: Start.AddMinutes(-3)),
                Instance("i-creating-old", ResourceStatuses.Creating, created: Start.AddMinutes(-30), lastUsed: Start.AddMinutes(-30)),
            ],
            [Volume("v-ghost"), Volume("v-users", ResourceStatuses.Attached, userId: "ada")]);
        var input = InStep(snapshot, Start) with { InstanceInventory = [], VolumeInventory = [] };

        var plan = PoolPlanner.Plan(input);

        Assert.Contains(new ForgetGhost(I, "i-ghost"), plan.Actions);
        Assert.Contains(new ForgetGhost(I, "i-creating-old"), plan.Actions);
        Assert.Contains(new ForgetGhost(V, "v-ghost"), plan.Actions);
        Assert.DoesNotContain(plan.Actions, a => a.Describe().Contains("i-creating-young", StringComparison.Ordinal));
        Assert.Contains(plan.Actions, a => a is ReportDrift { Id: "v-users" });
        Assert.DoesNotContain(plan.Actions, a => a is ForgetGhost { Id: "v-users" });
    }

    [Fact]
    public void GivenInventoryNotRead_WhenRowsLookLikeGhosts_ThenNoDriftIsPlanned()
    {
        var input = InStep(Snapshot([Instance("i1", volumeId: "v1", boxRunning: true)], [Volume("v1", instanceId: "i1"), Volume("v2")]), Start) with
        {
            InstanceInventory = null,
            VolumeInventory = null,
        };

        var plan = PoolPlanner.Plan(input);

        Assert.True(plan.IsNoop, plan.ToString());
        Assert.Contains(plan.NotesFor(I), n => n.Contains("inventory not read", StringComparison.Ordinal));
    }

    [Fact]
    public void GivenProviderResourcesUnknownToStore_WhenPlanned_ThenOnlyOldUntaggedOrphansAreDeleted()
    {
        var input = InStep(PoolSnapshot.Empty, Start, (PoolConfig.Dev with { MinFreeVolumes = 0, MinFreeInstances = 0 }).Validate()) with
        {
            InstanceInventory = [Item(I, "i-orphan", created: Start.AddMinutes(-11))],
            VolumeInventory =
            [
                Item(V, "v-orphan", created: Start.AddHours(-1)),
                Item(V, "v-users", created: Start.AddDays(-3), userId: "ada"),
                Item(V, "v-fresh", created: Start.AddMinutes(-9)),
                Item(V, "v-undated"),
            ],
        };

        var plan = PoolPlanner.Plan(input);

        Assert.Equal(
            [
                new DeleteOrphan(I, "i-orphan"),
                new DeleteOrphan(V, "v-orphan"),
                new ReportDrift(V, "v-undated", "not in the store and has no readable shellbox:created tag: left alone"),
                new ReportDrift(V, "v-users", "not in the store but tagged for user 'ada': never deleted, needs an operator"),
            ],
            plan.Actions);
    }

    [Fact]
    public void GivenRowsLeftInTransitionalStatus_WhenPastGrace_ThenResetStuck()
    {
        var snapshot = Snapshot(
            [
                Instance("i-stuck", ResourceStatuses.Creating, lastUsed: Start.AddMinutes(-11)),
                Instance("i-working", ResourceStatuses.Creating, lastUsed: Start.AddMinutes(-4)),
                Instance("i-held", ResourceStatuses.Creating, lastUsed: Start.AddHours(-1), lease: LeaseUntil(Start.AddMinutes(1))),
            ],
            [Volume("v-stuck", ResourceStatuses.Deleting, lastUsed: Start.AddHours(-2), lease: LeaseUntil(Start.AddHours(-1)))]);

        var plan = PoolPlanner.Plan(InStep(snapshot, Start));

        Assert.Equal(
            [new ResetStuck(I, "i-stuck"), new ResetStuck(V, "v-stuck")],
            plan.Actions.Where(a => a is ResetStuck or ReclaimLease));
    }

    [Fact]
    public void GivenAPlan_WhenPrintedForWhatIf_ThenOneLinePerActionThenTheNotes()
    {
        var input = InStep(Snapshot([Instance("i1")], [Volume("v1")]), Start) with { VolumeFailures = new FailureHistory(5, Start) };

        var text = PoolPlanner.Plan(input).ToString();

        Assert.Equal(
            """
            attach volume v1 to instance i1 as a ready pair
            note: volume: backing off creates until 2025-01-06T09:04:00.0000000+00:00 after 5 consecutive failures
            """.ReplaceLineEndings(),
            text.ReplaceLineEndings());
    }
}
