using Shellbox.Core.Engine;
using Shellbox.Core.Model;
using Shellbox.Core.Planning;
using Shellbox.Core.Pools;
using Shellbox.Core.Store;
using static Shellbox.Core.Tests.Flows.FlowFixture;

namespace Shellbox.Core.Tests.Flows;

/// <summary>PoolReconciler.ReconcileAsync end to end: plan, execute, events, lock and back-off.</summary>
public sealed class ReconcileTests
{
    [Fact]
    public async Task GivenAnEmptyDevPoolWithAGoldenSnapshot_WhenReconciled_ThenOneInstanceAndTwoVolumesAreCreated()
    {
        await using var f = Create();

        var result = await f.Reconciler.ReconcileAsync();

        Assert.False(result.Skipped);
        Assert.Equal(0, result.Failed);
        Assert.Equal(["instance-0001"], f.Infra.Log.Named(nameof(FakeInfrastructure.CreateInstanceAsync)).Select(c => c.Args[0]));
        Assert.Equal(["volume-0002", "volume-0003"], f.Infra.Log.Named(nameof(FakeInfrastructure.CreateVolumeAsync)).Select(c => c.Args[0]).Order());
        Assert.All(f.Infra.Log.Named(nameof(FakeInfrastructure.CreateVolumeAsync)), c => Assert.Equal(Golden.Version, c.Args[1]));
        var snapshot = await f.Store.ReadSnapshotAsync();
        Assert.True(Assert.Single(snapshot.Instances).IsFree);
        Assert.Equal(2, snapshot.Volumes.Count(v => v.IsFree && v.Golden == Golden.Version));
        Assert.Equal(3, (await f.Store.ReadEventsAsync(10)).Count(e => e.Kind == PoolHistory.CreateEvent && e.Succeeded));
    }

    [Fact]
    public async Task GivenAFreshPool_WhenReconciledAgain_ThenOnePairIsMadeAndGetPoolShowsAReadyPairThenTheNextPassIsANoop()
    {
        await using var f = Create();
        await f.Reconciler.ReconcileAsync();
        f.ClearCalls();

        var second = await f.Reconciler.ReconcileAsync();

        var pair = Assert.IsType<PairReadyPair>(Assert.Single(second.Plan.Actions));
        Assert.True(Assert.Single(second.Outcomes).Succeeded);
        Assert.Equal([$"AttachAsync({pair.InstanceId}, {pair.VolumeId})"], f.Infra.Log.Named(nameof(FakeInfrastructure.AttachAsync)).Select(c => c.ToString()));
        Assert.Equal(1, f.Runtime.ColdResumes);
        var pools = PoolStatus.From(await f.Store.ReadSnapshotAsync(), f.Settings.Pool);
        Assert.All(pools, p => Assert.Equal(1, p.ReadyPairs));
        Assert.Equal(1, pools.Single(p => p.Pool == ResourceRoles.Instance).Free);
        Assert.Equal(2, pools.Single(p => p.Pool == ResourceRoles.Volume).Free);

        var third = await f.Reconciler.ReconcileAsync();

        Assert.True(third.Plan.IsNoop, third.Plan.ToString());
        await f.AssertConsistentAsync();
    }

    [Theory]
    [InlineData("lost", "lost its saved state")]
    [InlineData("corrupt", "has a corrupt saved state")]
    [InlineData("mismatch", "was saved under other machine settings")]
    public async Task GivenAFreeCloneWhoseSavedStateIsLostCorruptOrOfAnotherMachine_WhenReconcilePairsIt_ThenItIsDeletedNotHandedBackAndTheNextPassPairsAFreshOne(string damage, string said)
    {
        // GIVEN free volumes whose saved state is gone (its box ran and died with the host mid-pair), damaged, or saved
        // under machine settings the operator has changed since
        await using var f = Create();
        await f.Reconciler.ReconcileAsync();
        var volumes = (await f.Store.ReadSnapshotAsync()).Volumes.Select(v => v.Id).Order().ToList();
        foreach (var volume in volumes)
        {
            switch (damage)
            {
                case "lost":
                    f.Runtime.LoseState(volume);
                    break;
                case "corrupt":
                    f.Runtime.CorruptState(volume);
                    break;
                default:
                    f.Runtime.MismatchMachine(volume);
                    break;
            }
        }

        // WHEN reconcile pairs one THEN that volume is deleted (store and provider), the instance freed, nothing stuck
        var pass = await f.Reconciler.ReconcileAsync();
        var pair = Assert.IsType<PairReadyPair>(Assert.Single(pass.Plan.Actions));
        var outcome = Assert.Single(pass.Outcomes);
        Assert.True(outcome.Succeeded, outcome.Message);
        Assert.Contains(said, outcome.Message);
        var snapshot = await f.Store.ReadSnapshotAsync();
        Assert.DoesNotContain(snapshot.Volumes, v => v.Id == pair.VolumeId);
        Assert.False(f.Infra.HasVolume(pair.VolumeId));
        Assert.True(snapshot.Instances.Single(i => i.Id == pair.InstanceId) is { IsFree: true, VolumeId: null, Lease: null });

        // AND the passes after make a fresh clone and pair it
        await f.Reconciler.ReconcileAsync();
        await f.Reconciler.ReconcileAsync();
        await f.Reconciler.ReconcileAsync();
        var pools = PoolStatus.From(await f.Store.ReadSnapshotAsync(), f.Settings.Pool);
        Assert.All(pools, p => Assert.Equal(1, p.ReadyPairs));
        await f.AssertConsistentAsync();
    }

    [Fact]
    public async Task GivenAPoolMadeByReconcile_WhenANewBoxConnects_ThenItTakesTheReadyPairWithNoInfrastructureCall()
    {
        await using var f = Create();
        await f.Reconciler.ReconcileAsync();
        await f.Reconciler.ReconcileAsync();
        f.ClearCalls();

        var c = await f.Connect.ConnectAsync(User, "dev1");

        Assert.Equal("new-from-ready-pair", c.Trace.Path);
        Assert.Empty(f.Infra.Log.Calls);
        Assert.Equal(0, f.Runtime.ColdResumes);
    }

    [Fact]
    public async Task GivenABoxFromAReadyPair_WhenReconciled_ThenItsVolumeIsTaggedWithTheOwnerOnceAndThenLeftAlone()
    {
        await using var f = Create();
        await f.Reconciler.ReconcileAsync();
        await f.Reconciler.ReconcileAsync();
        var c = await f.Connect.ConnectAsync(User, "dev1");
        f.ClearCalls();

        var first = await f.Reconciler.ReconcileAsync();
        var second = await f.Reconciler.ReconcileAsync();

        Assert.Contains(first.Plan.Actions, a => a is MirrorOwner m && m.Id == c.Box.VolumeId && m.UserId == User);
        Assert.Equal([$"TagVolumeAsync({c.Box.VolumeId}, {User}, dev1)"], f.Infra.Log.Named(nameof(FakeInfrastructure.TagVolumeAsync)).Select(x => x.ToString()));
        Assert.DoesNotContain(second.Plan.Actions, a => a is MirrorOwner);
    }

    [Fact]
    public async Task GivenAnotherHolderHasTheReconcileLock_WhenReconciled_ThenThePassIsSkippedUntilTheLockExpires()
    {
        await using var f = Create();
        await f.Store.InsertAsync(new LockRecord { Id = PoolReconciler.LockName, Holder = "runbook-7", ExpiresAt = Start + TimeSpan.FromMinutes(15) });

        var skipped = await f.Reconciler.ReconcileAsync();

        Assert.True(skipped.Skipped);
        Assert.Empty(skipped.Outcomes);
        Assert.Empty(f.Infra.Log.Calls);
        Assert.Empty(await f.RowsAsync());

        f.Time.Advance(TimeSpan.FromMinutes(15));
        var taken = await f.Reconciler.ReconcileAsync();

        Assert.False(taken.Skipped);
        Assert.Equal(3, taken.Succeeded);
        Assert.Null(await f.GetAsync<LockRecord>(PoolReconciler.LockName));
    }

    [Fact]
    public async Task GivenAPassInProgress_WhenASecondReconcileStarts_ThenItIsSkippedActsOnNothingAndNamesTheHolderAndTheExpiry()
    {
        await using var f = Create();
        Task<ReconcileResult>? second = null;
        var once = new Flow.Once();
        f.Infra.Log.OnCall = async call =>
        {
            if (call.Name == nameof(FakeInfrastructure.CreateInstanceAsync) && once.Take())
            {
                second = Task.Run(() => f.Reconciler.ReconcileAsync());
                await second;
            }
        };

        var first = await f.Reconciler.ReconcileAsync();

        Assert.False(first.Skipped);
        var skipped = await second!;
        Assert.True(skipped.Skipped);
        Assert.Empty(skipped.Outcomes);
        Assert.Equal(1, f.Infra.Log.Count(nameof(FakeInfrastructure.CreateInstanceAsync)));
        Assert.Equal(2, f.Infra.Log.Count(nameof(FakeInfrastructure.CreateVolumeAsync)));
        Assert.Equal(2, f.Infra.Log.Count(nameof(FakeInfrastructure.ListAsync))); // the skipped pass read no inventory
        var holder = Assert.IsType<LockRecord>(skipped.LockHeldBy);
        Assert.StartsWith($"{first.CorrelationId} on {Environment.MachineName} pid {Environment.ProcessId}", holder.Holder);
        Assert.Equal(Start + TimeSpan.FromMinutes(15), holder.ExpiresAt);
        Assert.Null(first.LockHeldBy);
    }

    [Fact]
    public async Task GivenCreateVolumeFailsThreeTimes_WhenReconciledAgainWithinTheWindow_ThenNoCreateIsAttemptedUntilTheWindowPasses()
    {
        await using var f = Create();
        await f.AddReadyPairAsync(); // Dev: one free instance, one of two free volumes
        f.Infra.Log.Fail(nameof(FakeInfrastructure.CreateVolumeAsync), -1);

        for (var pass = 1; pass <= 3; pass++)
        {
            var r = await f.Reconciler.ReconcileAsync();
            Assert.Equal(1, r.Failed);
            f.Time.Advance(TimeSpan.FromSeconds(5));
        }

        Assert.Equal(3, f.Infra.Log.Count(nameof(FakeInfrastructure.CreateVolumeAsync)));
        Assert.Equal(3, f.Infra.Log.Count(nameof(FakeInfrastructure.DeleteVolumeAsync))); // each failed clone is cleaned up
        Assert.Single((await f.Store.ReadSnapshotAsync()).Volumes); // and leaves no row behind

        var fourth = await f.Reconciler.ReconcileAsync();

        Assert.Equal(3, f.Infra.Log.Count(nameof(FakeInfrastructure.CreateVolumeAsync)));
        Assert.DoesNotContain(fourth.Plan.Actions, a => a is CreateResource);
        Assert.Contains(fourth.Plan.NotesFor(ResourceRoles.Volume), n => n.Contains("backing off"));

        f.Time.Advance(PoolConfig.Dev.CheckInterval * 2);
        await f.Reconciler.ReconcileAsync();

        Assert.Equal(4, f.Infra.Log.Count(nameof(FakeInfrastructure.CreateVolumeAsync)));
    }

    [Fact]
    public async Task GivenNoGoldenSnapshot_WhenReconciled_ThenInstancesAreStillCreatedAndVolumeCreatesFailWithoutAProviderCall()
    {
        await using var f = Create();
        f.Infra.Golden = null;

        var result = await f.Reconciler.ReconcileAsync();

        Assert.Equal(1, f.Infra.Log.Count(nameof(FakeInfrastructure.CreateInstanceAsync)));
        Assert.Equal(0, f.Infra.Log.Count(nameof(FakeInfrastructure.CreateVolumeAsync)));
        Assert.Equal(2, result.Failed);
        Assert.All(result.Outcomes.Where(o => !o.Succeeded), o => Assert.Contains("golden snapshot", o.Message));
        Assert.Empty((await f.Store.ReadSnapshotAsync()).Volumes);
    }

    [Fact]
    public async Task GivenCreateInstanceFails_WhenReconciled_ThenTheFailureIsRecordedAndNoRowIsLeftBehind()
    {
        await using var f = Create();
        f.Infra.Log.Fail(nameof(FakeInfrastructure.CreateInstanceAsync));

        var result = await f.Reconciler.ReconcileAsync();

        Assert.Equal(1, result.Failed);
        Assert.Empty((await f.Store.ReadSnapshotAsync()).Instances);
        Assert.Contains(await f.Store.ReadEventsAsync(10), e => e.Kind == PoolHistory.CreateEvent && e.Role == ResourceRoles.Instance && !e.Succeeded);
    }

    [Fact]
    public async Task GivenPairingResumeFails_WhenReconciled_ThenThePairIsUndoneAndBothHalvesAreFreeAgain()
    {
        await using var f = Create();
        await f.Reconciler.ReconcileAsync();
        f.Runtime.Log.Fail(nameof(FakeBoxRuntime.ResumeAsync));

        var result = await f.Reconciler.ReconcileAsync();

        Assert.Equal(1, result.Failed);
        var snapshot = await f.Store.ReadSnapshotAsync();
        var instance = Assert.Single(snapshot.Instances);
        Assert.True(instance.IsFree);
        Assert.Null(instance.VolumeId);
        Assert.All(snapshot.Volumes, v => Assert.True(v.IsFree && v.InstanceId is null));
        await f.AssertConsistentAsync();
    }
}
