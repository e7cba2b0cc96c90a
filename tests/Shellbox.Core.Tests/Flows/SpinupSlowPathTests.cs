using Shellbox.Core.Boxes;
using Shellbox.Core.Errors;
using Shellbox.Core.Lifecycle;
using Shellbox.Core.Model;
using Shellbox.Core.Observability;
using Shellbox.Core.Planning;
using static Shellbox.Core.Tests.Flows.FlowFixture;

namespace Shellbox.Core.Tests.Flows;

/// <summary>
/// An empty pool slows a spinup down; it does not fail it (issue 10, part 4). A spinup's box does not run, so only
/// its volume is made, through the connect's slow path: one line before the wait, the caps hold under a burst, a
/// failure or a crash mid-way leaves nothing but marks one reconcile after their expiry repairs, and only the caps
/// refuse, with the connect's one line. The real SQLite store, the recording fakes.
/// </summary>
public sealed class SpinupSlowPathTests
{
    [Fact]
    public async Task GivenNoLooseVolumeAndNoReadyPair_WhenABoxIsSpunUp_ThenOnlyAVolumeIsMadeAfterOneLineAndTheBoxRestsOnIt()
    {
        await using var f = Create();
        var instance = await f.AddInstanceAsync();
        var told = new NoticeLog();

        var view = await new BoxCatalog(f.Engine, told).CreateAsync(User, "dev1");

        // Nothing measured yet on this pool: the Local provider's first figure for a volume alone.
        Assert.Equal(["making your box, about 1 s"], told.Lines);
        Assert.Equal(["GetGoldenSnapshotAsync()", $"CreateVolumeAsync({view.Box.VolumeId}, {Golden.Version})"], f.Infra.Log.Calls.Select(c => c.ToString()));
        Assert.Empty(f.Runtime.Log.Calls);
        Assert.Equal((BoxCatalog.Suspended, null, 0), (view.State, view.InstanceId, view.Sessions));
        Assert.Equal(BoxCatalog.Suspended, (await f.Catalog.GetAsync(User, "dev1")).State);
        var volume = await f.VolumeAsync(view.Box.VolumeId);
        Assert.Equal((ResourceStatuses.Suspended, User, "dev1", null, null), (volume.Status, volume.UserId, volume.BoxName, volume.Mark, volume.Lease));
        Assert.True((await f.InstanceAsync(instance)).IsFree);
        Assert.Single(await f.Store.QueryEventsAsync(new EventQuery { Kind = "slow-path-volume" }), e => e.ResourceId == BoxId("dev1"));
        await f.AssertConsistentAsync();

        // The box is a returning box like any other: the user's first connect resumes its own volume.
        var connection = await f.Connect.ConnectAsync(User, "dev1", create: false);
        Assert.Equal(("returning", view.Box.VolumeId, instance), (connection.Trace.Path, connection.Box.VolumeId, connection.Box.InstanceId));
    }

    [Fact]
    public async Task GivenAVolumeThatIsSlowToMake_WhenABoxIsSpunUp_ThenTheLineComesBeforeTheWaitEnds()
    {
        await using var f = Create();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var making = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        f.Infra.Log.OnCall = async call =>
        {
            if (call.Name == nameof(FakeInfrastructure.CreateVolumeAsync))
            {
                making.TrySetResult();
                await release.Task;
            }
        };
        var told = new NoticeLog();

        var spinup = new BoxCatalog(f.Engine, told).CreateAsync(User, "dev1");
        await making.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Empty(told.Lines);
        for (var i = 0; i < 100 && told.Lines.Count == 0; i++)
        {
            f.Time.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Delay(10);
        }

        Assert.Equal(["making your box, about 1 s"], told.Lines);
        Assert.False(spinup.IsCompleted);
        release.SetResult();
        Assert.Equal(BoxCatalog.Suspended, (await spinup).State);
        Assert.Single(told.Lines);
    }

    [Fact]
    public async Task GivenThePoolAtItsVolumeCap_WhenABoxIsSpunUp_ThenTheConnectsAtCapacityLineAndNothingChanges()
    {
        var pool = PoolConfig.Dev with { MaxTotalVolumes = 2, CheckInterval = TimeSpan.FromSeconds(41) };
        await using var f = Create(pool: pool);
        await f.AddInstanceAsync();
        await f.AddVolumeAsync();
        await f.Catalog.CreateAsync(User, "dev1");
        await f.Catalog.CreateAsync(User, "dev2"); // made: the second and last volume the pool may have
        f.ClearCalls();
        var before = await f.RowsAsync();
        var told = new NoticeLog();

        var e = await Flow.FailsWithAsync(ConnectFlow.AtCapacityErrorId, () => new BoxCatalog(f.Engine, told).CreateAsync(User, "dev3"));

        Assert.Equal(ShellboxErrorKind.Service, e.Kind);
        Assert.Equal("At capacity: all 2 volumes the pool may have are in use or being made; retry in 41 s.", e.Message);
        Assert.Empty(told.Lines);
        Assert.Equal(before, await f.RowsAsync());
        Assert.Empty(f.Infra.Log.Calls);
        Assert.Null(await f.GetAsync<BoxRecord>(BoxId("dev3")));
    }

    [Fact]
    public async Task GivenRoomForThreeVolumes_WhenTenSpinupsRunAtOnce_ThenThreeBoxesAreMadeSevenAreAtCapacityAndNoCapIsPassed()
    {
        await using var f = Create(pool: PoolConfig.Dev with { MaxTotalVolumes = 3 });
        var notices = Enumerable.Range(0, 10).Select(_ => new NoticeLog()).ToArray();

        var outcomes = await Task.WhenAll(Flow.StartTogether(10, i => Flow.TryAsync(new BoxCatalog(f.Engine, notices[i]).CreateAsync(User, $"burst{i}"))));

        var won = outcomes.Select((o, i) => (o.Result, Notices: notices[i])).Where(w => w.Result is not null).ToList();
        Assert.Equal(3, won.Count);
        Assert.All(won, w => Assert.Single(w.Notices.Lines));
        var refused = outcomes.Where(o => o.Error is not null).Select(o => Assert.IsAssignableFrom<ShellboxException>(o.Error)).ToList();
        Assert.Equal(7, refused.Count);
        Assert.All(refused, e => Assert.Equal(ConnectFlow.AtCapacityErrorId, e.ErrorId));
        Assert.All(notices.Where((_, i) => outcomes[i].Error is not null), n => Assert.Empty(n.Lines));

        var snapshot = await f.Store.ReadSnapshotAsync();
        Assert.Equal(3, snapshot.Volumes.Count);
        Assert.Equal(won.Select(w => w.Result!.Box.VolumeId).Order(), snapshot.Volumes.Select(v => v.Id).Order());
        Assert.DoesNotContain(snapshot.Volumes, v => v.Mark is not null || v.Lease is not null);
        Assert.Empty(snapshot.Instances);
        Assert.Equal(3, f.Infra.Log.Count(nameof(FakeInfrastructure.CreateVolumeAsync)));
        Assert.Equal(0, f.Infra.Log.Count(nameof(FakeInfrastructure.CreateInstanceAsync)));
        await f.AssertConsistentAsync();
    }

    [Fact]
    public async Task GivenARivalThatSpinsUpTheSameBoxWhileThisOneMakesItsVolume_WhenThisOneBinds_ThenBoxExistsAndItsVolumeIsFreeInThePool()
    {
        await using var f = Create();
        Task<BoxView>? rival = null;
        var once = new Flow.Once();
        f.Infra.Log.OnCall = async call =>
        {
            if (call.Name == nameof(FakeInfrastructure.CreateVolumeAsync) && once.Take())
            {
                rival = Task.Run(() => f.Catalog.CreateAsync(User, "dev1"));
                await rival;
            }
        };

        await Flow.FailsWithAsync("BoxExists", () => f.Catalog.CreateAsync(User, "dev1"));

        f.Infra.Log.OnCall = null;
        var won = await rival!;
        var snapshot = await f.Store.ReadSnapshotAsync();
        Assert.Equal(won.Box.VolumeId, Assert.Single(snapshot.Volumes, v => v.IsOwned).Id);
        var ours = Assert.Single(snapshot.Volumes, v => !v.IsOwned);
        Assert.True(ours.IsFree && ours.Mark is null && ours.Lease is null, $"{ours.Id} is left {ours.Status}");
        Assert.True(f.Infra.HasVolume(ours.Id));
        await f.AssertConsistentAsync();

        // The volume it made is the pool's now: the next spinup takes it without making one.
        f.ClearCalls();
        Assert.Equal(ours.Id, (await f.Catalog.CreateAsync(User, "dev2")).Box.VolumeId);
        Assert.Empty(f.Infra.Log.Calls);
    }

    [Fact]
    public async Task GivenAVolumeCreateThatFails_WhenABoxIsSpunUp_ThenTheUserGetsTheErrorAndNothingIsLeft()
    {
        await using var f = Create();
        f.Infra.Log.Fail(nameof(FakeInfrastructure.CreateVolumeAsync));

        await Flow.FailsWithAsync(CallLog.InjectedFailure, () => f.Catalog.CreateAsync(User, "dev1"));

        var left = await f.Store.ReadSnapshotAsync();
        Assert.Empty(left.Boxes);
        Assert.Empty(left.Volumes);
        Assert.Empty(await f.Infra.ListAsync(ResourceRoles.Volume));

        // Nothing stuck: the next spinup makes its volume.
        Assert.Equal(BoxCatalog.Suspended, (await f.Catalog.CreateAsync(User, "dev1")).State);
    }

    [Fact]
    public async Task GivenAVolumeCreateAndItsUndoThatFail_WhenOneReconcileRunsAfterTheMarkExpires_ThenNothingIsLeftBehind()
    {
        await using var f = Create();
        f.Infra.Log.Fail(nameof(FakeInfrastructure.CreateVolumeAsync));
        f.Infra.Log.Fail(nameof(FakeInfrastructure.DeleteVolumeAsync));

        await Flow.FailsWithAsync(CallLog.InjectedFailure, () => f.Catalog.CreateAsync(User, "dev1"));

        var volume = Assert.Single((await f.Store.ReadSnapshotAsync()).Volumes);
        Assert.Equal((ResourceStatuses.Creating, TransitionAct.Create), (volume.Status, volume.Mark?.Act));
        Assert.Null(await f.GetAsync<BoxRecord>(BoxId("dev1")));

        f.Time.Advance(TransitionMark.DurationOf(TransitionAct.Create) + TimeSpan.FromSeconds(1));
        await f.Reconciler.ReconcileAsync(a => Task.FromResult(a is not CreateResource and not PairReadyPair));

        Assert.Null(await f.GetAsync<VolumeRecord>(volume.Id));
        Assert.False(f.Infra.HasVolume(volume.Id));
        await f.AssertConsistentAsync();
    }

    [Fact]
    public async Task GivenASpinupThatDiesWhileItsVolumeIsMade_WhenOneReconcileRunsAfterTheExpiry_ThenTheHalfMadeVolumeIsGoneAndNoBoxExists()
    {
        await using var f = Create();
        using var dies = new CancellationTokenSource();
        f.Infra.Log.OnCall = async call =>
        {
            if (call.Name == nameof(FakeInfrastructure.CreateVolumeAsync))
            {
                // The ssh session is gone here: nothing after this line of the spinup runs.
                await dies.CancelAsync();
                dies.Token.ThrowIfCancellationRequested();
            }
        };

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => f.Catalog.CreateAsync(User, "dev1", dies.Token));
        f.Infra.Log.OnCall = null;
        var halfMade = Assert.Single((await f.Store.ReadSnapshotAsync()).Volumes);
        Assert.Equal(TransitionAct.Create, halfMade.Mark?.Act);

        f.Time.Advance(TransitionMark.DurationOf(TransitionAct.Create) + TimeSpan.FromSeconds(1));
        await f.Reconciler.ReconcileAsync(a => Task.FromResult(a is not CreateResource and not PairReadyPair));

        Assert.Null(await f.GetAsync<VolumeRecord>(halfMade.Id));
        Assert.Null(await f.GetAsync<BoxRecord>(BoxId("dev1")));
        await f.AssertConsistentAsync();
    }
}
