using System.Globalization;
using System.Text.RegularExpressions;
using Shellbox.Core.Boxes;
using Shellbox.Core.Errors;
using Shellbox.Core.Lifecycle;
using Shellbox.Core.Model;
using Shellbox.Core.Observability;
using Shellbox.Core.Planning;
using static Shellbox.Core.Tests.Flows.FlowFixture;

namespace Shellbox.Core.Tests.Flows;

/// <summary>
/// An empty pool slows a connect down; it does not fail it (issue 10, part 4). The real SQLite store, the
/// recording fakes: what is missing is made, the user is told once before the wait, a failure or a crash
/// mid-way leaves only marks that one reconcile after their expiry repairs, and only the caps refuse.
/// </summary>
public sealed class SlowPathTests
{
    private static readonly PoolConfig OneInstance = PoolConfig.Dev with { MinFreeInstances = 1, MaxFreeInstances = 1, MaxTotalInstances = 1 };

    [Fact]
    public async Task GivenAnEmptyPool_WhenANewBoxConnects_ThenAVolumeAndAnInstanceAreMadeAfterOneLineAndTheBoxRuns()
    {
        await using var f = Create();
        var told = new NoticeLog();

        var connection = await new ConnectFlow(f.Engine, told).ConnectAsync(User, "dev1");

        Assert.True(connection.Created);
        Assert.Equal("new-made", connection.Trace.Path);
        // Nothing measured yet on this pool: the Local provider's first figure.
        Assert.Equal(["making your box, about 10 s"], told.Lines);
        var made = Assert.Single(f.Infra.Log.Named(nameof(FakeInfrastructure.CreateVolumeAsync)));
        Assert.Equal(Golden.Version, made.Args[1]);
        Assert.Equal(1, f.Infra.Log.Count(nameof(FakeInfrastructure.CreateInstanceAsync)));
        Assert.Equal(1, f.Infra.Log.Count(nameof(FakeInfrastructure.AttachAsync)));
        Assert.Equal(1, f.Runtime.ColdResumes);

        var box = await f.BoxAsync("dev1");
        Assert.Equal(connection.SessionId, Assert.Single(box.Sessions).Id);
        var instance = await f.InstanceAsync(box.InstanceId!);
        Assert.Equal((ResourceStatuses.Connected, true, null), (instance.Status, instance.BoxRunning, instance.Mark));
        Assert.NotNull(instance.Endpoint);
        var volume = await f.VolumeAsync(box.VolumeId);
        Assert.Equal((ResourceStatuses.Attached, User, "dev1", null), (volume.Status, volume.UserId, volume.BoxName, volume.Mark));
        await f.AssertConsistentAsync();

        // The next user is told what this pool measured for dev1 (its slow-path event), rounded up to a whole second.
        var measured = Assert.Single(await f.Store.QueryEventsAsync(new EventQuery { Kind = "slow-path" }));
        Assert.Equal(BoxId("dev1"), measured.ResourceId);
        var seconds = double.Parse(Regex.Match(measured.Message, @"seconds=([0-9.]+)").Groups[1].Value, CultureInfo.InvariantCulture);
        var next = new NoticeLog();
        await new ConnectFlow(f.Engine, next).ConnectAsync(User, "dev2");
        Assert.Equal([$"making your box, about {Math.Max(1, (int)Math.Ceiling(seconds))} s"], next.Lines);
    }

    [Fact]
    public async Task GivenAFreeInstanceButNoVolume_WhenANewBoxConnects_ThenOnlyTheVolumeIsMadeAndTheInstanceIsUsed()
    {
        await using var f = Create();
        var instance = await f.AddInstanceAsync();
        var told = new NoticeLog();

        var connection = await new ConnectFlow(f.Engine, told).ConnectAsync(User, "dev1");

        Assert.Equal("new-made", connection.Trace.Path);
        Assert.Single(told.Lines);
        Assert.Equal(instance, connection.Box.InstanceId);
        Assert.Equal(0, f.Infra.Log.Count(nameof(FakeInfrastructure.CreateInstanceAsync)));
        Assert.Equal(1, f.Infra.Log.Count(nameof(FakeInfrastructure.CreateVolumeAsync)));
        await f.AssertConsistentAsync();
    }

    [Fact]
    public async Task GivenASuspendedBoxAndNoFreeInstance_WhenItReturns_ThenAnInstanceIsMadeAfterOneLineAndItsOwnVolumeResumes()
    {
        await using var f = Create();
        await f.AddReadyPairAsync();
        var first = await f.Connect.ConnectAsync(User, "dev1");
        await f.Disconnect.DisconnectAsync(first.Box.Id, first.SessionId);
        await f.Connect.ConnectAsync(User, "dev2"); // takes the only instance (and makes its volume)
        f.ClearCalls();
        var told = new NoticeLog();

        var back = await new ConnectFlow(f.Engine, told).ConnectAsync(User, "dev1");

        Assert.False(back.Created);
        Assert.Equal("returning-made", back.Trace.Path);
        Assert.Single(told.Lines);
        Assert.StartsWith("making your box, about ", told.Lines[0]);
        var made = Assert.Single(f.Infra.Log.Named(nameof(FakeInfrastructure.CreateInstanceAsync))).Args[0];
        Assert.Equal(0, f.Infra.Log.Count(nameof(FakeInfrastructure.CreateVolumeAsync)));
        Assert.Equal((made, first.Box.VolumeId), (back.Box.InstanceId, back.Box.VolumeId));
        Assert.True(f.Runtime.IsRunning(made, first.Box.VolumeId));
        await f.AssertConsistentAsync();
    }

    [Fact]
    public async Task GivenThePoolAtItsInstanceCap_WhenANewBoxConnects_ThenOneAtCapacityLineNamesTheRetryAndNothingChanges()
    {
        await using var f = Create(pool: OneInstance);
        await f.AddReadyPairAsync();
        await f.Connect.ConnectAsync(User, "dev1");
        f.ClearCalls();
        var before = await f.RowsAsync();
        var told = new NoticeLog();

        var e = await Flow.FailsWithAsync(ConnectFlow.AtCapacityErrorId, () => new ConnectFlow(f.Engine, told).ConnectAsync(User, "dev2"));

        Assert.Equal(ShellboxErrorKind.Service, e.Kind);
        Assert.DoesNotContain('\n', e.Message);
        Assert.EndsWith($"retry in {OneInstance.CheckInterval.TotalSeconds:0} s.", e.Message);
        Assert.Empty(told.Lines);
        Assert.Equal(before, await f.RowsAsync());
        Assert.Empty(f.Infra.Log.Calls);
        Assert.Null(await f.GetAsync<BoxRecord>(BoxId("dev2")));
    }

    [Fact]
    public async Task GivenAVolumeCreateThatFailsAndAnUndoThatFailsToo_WhenANewBoxConnects_ThenTheUserGetsTheErrorAndOneReconcileAfterTheMarksExpireLeavesNothingBehind()
    {
        await using var f = Create();
        f.Infra.Log.Fail(nameof(FakeInfrastructure.CreateVolumeAsync));
        f.Infra.Log.Fail(nameof(FakeInfrastructure.DeleteInstanceAsync));
        f.Infra.Log.Fail(nameof(FakeInfrastructure.DeleteVolumeAsync));

        await Flow.FailsWithAsync(CallLog.InjectedFailure, () => f.Connect.ConnectAsync(User, "dev1"));

        // The instance was made, the volume was not; neither could be undone: both rows keep their create marks.
        Assert.Null(await f.GetAsync<BoxRecord>(BoxId("dev1")));
        var left = await f.Store.ReadSnapshotAsync();
        var instance = Assert.Single(left.Instances);
        var volume = Assert.Single(left.Volumes);
        Assert.All(new[] { instance.Mark, volume.Mark }, m => Assert.Equal(TransitionAct.Create, m?.Act));
        Assert.True(f.Infra.HasInstance(instance.Id));

        // Before the marks expire reconcile leaves them to their holder; after, one pass repairs both.
        await f.Reconciler.ReconcileAsync(a => Task.FromResult(a is not CreateResource and not PairReadyPair));
        Assert.NotNull(await f.GetAsync<InstanceRecord>(instance.Id));
        f.Time.Advance(TransitionMark.DurationOf(TransitionAct.Create) + TimeSpan.FromSeconds(1));
        await f.Reconciler.ReconcileAsync(a => Task.FromResult(a is not CreateResource and not PairReadyPair));

        Assert.Null(await f.GetAsync<InstanceRecord>(instance.Id));
        Assert.Null(await f.GetAsync<VolumeRecord>(volume.Id));
        Assert.False(f.Infra.HasInstance(instance.Id));
        Assert.False(f.Infra.HasVolume(volume.Id));
        await f.AssertConsistentAsync();

        // And the pool can make the box now.
        Assert.Equal("new-made", (await f.Connect.ConnectAsync(User, "dev1")).Trace.Path);
    }

    [Fact]
    public async Task GivenAConnectThatDiesWhileItsVolumeIsMade_WhenOneReconcileRunsAfterTheExpiry_ThenTheHeldInstanceIsFreeAndTheHalfMadeVolumeIsGone()
    {
        await using var f = Create();
        var instance = await f.AddInstanceAsync();
        using var dies = new CancellationTokenSource();
        f.Infra.Log.OnCall = async call =>
        {
            if (call.Name == nameof(FakeInfrastructure.CreateVolumeAsync))
            {
                // The bastion loses the session here (Ctrl+C, sshd gone): nothing after this line of the connect runs.
                await dies.CancelAsync();
                dies.Token.ThrowIfCancellationRequested();
            }
        };

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => f.Connect.ConnectAsync(User, "dev1", cancellationToken: dies.Token));
        f.Infra.Log.OnCall = null;

        var held = await f.InstanceAsync(instance);
        Assert.NotNull(held.Lease);
        Assert.False(held.IsFree);
        var halfMade = Assert.Single((await f.Store.ReadSnapshotAsync()).Volumes);
        Assert.Equal((ResourceStatuses.Creating, TransitionAct.Create), (halfMade.Status, halfMade.Mark?.Act));

        f.Time.Advance(TransitionMark.DurationOf(TransitionAct.Create) + TimeSpan.FromSeconds(1));
        await f.Reconciler.ReconcileAsync(a => Task.FromResult(a is not CreateResource and not PairReadyPair));

        var freed = await f.InstanceAsync(instance);
        Assert.True(freed.IsFree);
        Assert.Null(freed.VolumeId);
        Assert.Null(await f.GetAsync<VolumeRecord>(halfMade.Id));
        Assert.Null(await f.GetAsync<BoxRecord>(BoxId("dev1")));
        await f.AssertConsistentAsync();
    }
}
