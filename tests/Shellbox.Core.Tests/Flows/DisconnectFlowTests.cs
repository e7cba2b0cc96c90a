using Shellbox.Core.Boxes;
using Shellbox.Core.Model;
using Shellbox.Core.Planning;
using static Shellbox.Core.Tests.Flows.FlowFixture;

namespace Shellbox.Core.Tests.Flows;

/// <summary>Disconnect, heartbeat and reclaim, branch by branch.</summary>
public sealed class DisconnectFlowTests
{
    private static readonly TimeSpan Linger = TimeSpan.FromMinutes(5);

    [Fact]
    public async Task GivenTwoSessions_WhenTheFirstLeaves_ThenTheBoxKeepsRunningAndTheLastOneOutSuspendsIt()
    {
        await using var f = Create();
        var (instance, volume) = await f.AddReadyPairAsync();
        var first = await f.Connect.ConnectAsync(User, "dev1");
        var second = await f.Connect.ConnectAsync(User, "dev1");
        Assert.Equal("joining", second.Trace.Path);
        f.ClearCalls();

        Assert.Equal("still in use", await f.Disconnect.DisconnectAsync(first.Box.Id, first.SessionId));

        Assert.Empty(f.Runtime.Log.Calls);
        Assert.Empty(f.Infra.Log.Calls);
        Assert.True(f.Runtime.IsRunning(instance, volume));
        Assert.Equal([second.SessionId], (await f.BoxAsync("dev1")).Sessions.Select(s => s.Id));
        Assert.Equal(BoxCatalog.Running, (await f.Catalog.GetAsync(User, "dev1")).State);

        Assert.Equal("suspended", await f.Disconnect.DisconnectAsync(second.Box.Id, second.SessionId));

        Assert.Equal([$"SuspendAsync({instance}, {volume})"], f.Runtime.Log.Calls.Where(c => c.Name != nameof(FakeBoxRuntime.IsRunningAsync)).Select(c => c.ToString()));
        Assert.Equal([$"DetachAsync({instance}, {volume})"], f.Infra.Log.Calls.Select(c => c.ToString()));
        Assert.True((await f.InstanceAsync(instance)).IsFree);
        await f.AssertConsistentAsync();
    }

    [Fact]
    public async Task GivenABoxWhoseQemuDied_WhenItsLeaseExpiresAndItReconnects_ThenItIsReleasedWithoutSuspendAndColdBooted()
    {
        await using var f = Create();
        var (instance, volume) = await f.AddReadyPairAsync();
        var first = await f.Connect.ConnectAsync(User, "dev1");
        f.Runtime.LoseState(volume); // the host rebooted under the running box
        f.Time.Advance(f.Settings.LeaseDuration + TimeSpan.FromSeconds(1));
        f.ClearCalls();

        await f.Reconciler.ReconcileAsync();

        Assert.Equal(0, f.Runtime.Log.Count(nameof(FakeBoxRuntime.SuspendAsync)));
        Assert.Equal(1, f.Infra.Log.Count(nameof(FakeInfrastructure.DetachAsync)));
        Assert.Null((await f.BoxAsync("dev1")).InstanceId);

        var again = await f.Connect.ConnectAsync(User, "dev1");

        Assert.True(again.Trace.ColdBooted);
        Assert.Equal(1, f.Runtime.Log.Count(nameof(FakeBoxRuntime.ColdBootAsync)));
        Assert.Equal(first.Box.VolumeId, again.Box.VolumeId);
        Assert.Contains(await f.Store.ReadEventsAsync(10), e => e.Kind == "cold-boot");
        await f.AssertConsistentAsync();
    }

    [Fact]
    public async Task GivenTheOtherSessionsHeartbeatStopped_WhenTheLiveSessionLeaves_ThenItIsTheLastOneOutAndSuspends()
    {
        await using var f = Create();
        await f.AddReadyPairAsync();
        var first = await f.Connect.ConnectAsync(User, "dev1");
        await f.Connect.ConnectAsync(User, "dev1");
        f.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.True(await SessionHeartbeat.BeatAsync(f.Engine, first.Box.Id, first.SessionId));
        f.Time.Advance(TimeSpan.FromMinutes(1.5)); // the second session's lease has run out

        Assert.Equal("suspended", await f.Disconnect.DisconnectAsync(first.Box.Id, first.SessionId));

        Assert.Equal(1, f.Runtime.Log.Count(nameof(FakeBoxRuntime.SuspendAsync)));
        Assert.Null((await f.BoxAsync("dev1")).InstanceId);
        await f.AssertConsistentAsync();
    }

    [Fact]
    public async Task GivenNoSuchBox_WhenDisconnecting_ThenGoneAndNothingHappens()
    {
        await using var f = Create();
        await f.AddReadyPairAsync();
        var before = await f.RowsAsync();

        Assert.Equal("gone", await f.Disconnect.DisconnectAsync(BoxId("nobox"), "s1"));

        Assert.Equal(before, await f.RowsAsync());
        Assert.Empty(f.Runtime.Log.Calls);
    }

    [Fact]
    public async Task GivenBoxAlreadySuspended_WhenTheSameSessionDisconnectsAgain_ThenSuspendedAndNothingIsCalled()
    {
        await using var f = Create();
        await f.AddReadyPairAsync();
        var c = await f.Connect.ConnectAsync(User, "dev1");
        await f.Disconnect.DisconnectAsync(c.Box.Id, c.SessionId);
        f.ClearCalls();

        Assert.Equal("suspended", await f.Disconnect.DisconnectAsync(c.Box.Id, c.SessionId));

        Assert.Empty(f.Runtime.Log.Calls);
        Assert.Empty(f.Infra.Log.Calls);
        await f.AssertConsistentAsync();
    }

    [Fact]
    public async Task GivenLingeringBox_WhenTheSameSessionDisconnectsAgain_ThenItStaysLingeringWithoutASecondSuspend()
    {
        await using var f = Create(Linger);
        await f.AddReadyPairAsync();
        var c = await f.Connect.ConnectAsync(User, "dev1");
        Assert.Equal("lingering", await f.Disconnect.DisconnectAsync(c.Box.Id, c.SessionId));
        f.ClearCalls();

        Assert.Equal("lingering", await f.Disconnect.DisconnectAsync(c.Box.Id, c.SessionId));

        Assert.Empty(f.Runtime.Log.Calls);
        Assert.Empty(f.Infra.Log.Calls);
        Assert.NotNull((await f.BoxAsync("dev1")).InstanceId);
        await f.AssertConsistentAsync();
    }

    [Fact]
    public async Task GivenSuspendFails_WhenTheLastSessionLeaves_ThenTheErrorSurfacesTheBoxIsJoinableAndReconcileFinishesTheReleaseLater()
    {
        await using var f = Create();
        var (instance, volume) = await f.AddReadyPairAsync();
        var c = await f.Connect.ConnectAsync(User, "dev1");
        f.Runtime.Log.Fail(nameof(FakeBoxRuntime.SuspendAsync));

        await Flow.FailsWithAsync(CallLog.InjectedFailure, () => f.Disconnect.DisconnectAsync(c.Box.Id, c.SessionId));

        var box = await f.BoxAsync("dev1");
        Assert.Null(box.Mark);
        Assert.Empty(box.Sessions);
        Assert.Equal(instance, box.InstanceId);
        Assert.True(f.Runtime.IsRunning(instance, volume));

        f.Time.Advance(f.Settings.LeaseDuration + TimeSpan.FromSeconds(1));
        await f.Reconciler.ReconcileAsync();

        Assert.True((await f.InstanceAsync(instance)).IsFree);
        Assert.Null((await f.BoxAsync("dev1")).InstanceId);
        Assert.False(f.Runtime.IsRunning(instance, volume));
        await f.AssertConsistentAsync();
    }

    [Fact]
    public async Task GivenSuspendFails_WhenTheUserReconnects_ThenItJoinsTheStillRunningBox()
    {
        await using var f = Create();
        await f.AddReadyPairAsync();
        var c = await f.Connect.ConnectAsync(User, "dev1");
        f.Runtime.Log.Fail(nameof(FakeBoxRuntime.SuspendAsync));
        await Flow.FailsWithAsync(CallLog.InjectedFailure, () => f.Disconnect.DisconnectAsync(c.Box.Id, c.SessionId));

        var again = await f.Connect.ConnectAsync(User, "dev1");

        Assert.Equal("joining", again.Trace.Path);
        await f.AssertConsistentAsync();
    }

    [Fact]
    public async Task GivenASessionWhoseHeartbeatStops_WhenTheLeaseRunsOutAndReconcileRuns_ThenTheBoxIsSuspendedDetachedAndTheInstanceFree()
    {
        await using var f = Create();
        var (instance, volume) = await f.AddReadyPairAsync();
        var c = await f.Connect.ConnectAsync(User, "dev1");

        f.Time.Advance(f.Settings.LeaseDuration - TimeSpan.FromSeconds(1));
        await f.Reconciler.ReconcileAsync();
        Assert.Equal(0, f.Runtime.Log.Count(nameof(FakeBoxRuntime.SuspendAsync)));

        f.Time.Advance(TimeSpan.FromSeconds(2));
        var pass = await f.Reconciler.ReconcileAsync();

        Assert.Contains(pass.Outcomes, o => o.Action is ReclaimLease { Id: var id } && id == instance && o.Succeeded);
        Assert.Equal([$"SuspendAsync({instance}, {volume})"], f.Runtime.Log.Named(nameof(FakeBoxRuntime.SuspendAsync)).Select(x => x.ToString()));
        Assert.Equal([$"DetachAsync({instance}, {volume})"], f.Infra.Log.Named(nameof(FakeInfrastructure.DetachAsync)).Select(x => x.ToString()));
        var i = await f.InstanceAsync(instance);
        Assert.True(i.IsFree);
        Assert.Null(i.VolumeId);
        var box = await f.BoxAsync("dev1");
        Assert.Null(box.InstanceId);
        Assert.Empty(box.Sessions);
        Assert.False(await SessionHeartbeat.BeatAsync(f.Engine, c.Box.Id, c.SessionId));
        await f.AssertConsistentAsync();
    }

    [Fact]
    public async Task GivenASessionThatKeepsBeating_WhenReconcileRunsPastTheFirstLease_ThenNothingIsReclaimed()
    {
        await using var f = Create();
        var (instance, _) = await f.AddReadyPairAsync();
        var c = await f.Connect.ConnectAsync(User, "dev1");

        for (var minute = 0; minute < 5; minute++)
        {
            f.Time.Advance(TimeSpan.FromMinutes(1));
            Assert.True(await SessionHeartbeat.BeatAsync(f.Engine, c.Box.Id, c.SessionId));
            await f.Reconciler.ReconcileAsync();
        }

        Assert.Equal(0, f.Runtime.Log.Count(nameof(FakeBoxRuntime.SuspendAsync)));
        Assert.Equal(0, f.Infra.Log.Count(nameof(FakeInfrastructure.DetachAsync)));
        Assert.Equal(instance, (await f.BoxAsync("dev1")).InstanceId);
        Assert.Equal(f.Time.GetUtcNow() + f.Settings.LeaseDuration, (await f.InstanceAsync(instance)).Lease?.ExpiresAt);
    }

    [Fact]
    public async Task GivenLingerEndedAndReclaimRunning_WhenTheUserReconnectsDuringTheDetach_ThenTheConnectEndsAttachedAndRunning()
    {
        await using var f = Create(Linger);
        var (instance, volume) = await f.AddReadyPairAsync();
        await f.AddInstanceAsync();
        var c = await f.Connect.ConnectAsync(User, "dev1");
        await f.Disconnect.DisconnectAsync(c.Box.Id, c.SessionId);
        f.Time.Advance(Linger + TimeSpan.FromSeconds(1));

        // The user comes back exactly while reconcile is detaching the lingering box.
        Task<BoxConnection>? reconnect = null;
        var once = new Flow.Once();
        f.Infra.Log.OnCall = async call =>
        {
            if (call.Name == nameof(FakeInfrastructure.DetachAsync) && once.Take())
            {
                reconnect = Task.Run(() => f.Connect.ConnectAsync(User, "dev1"));
                await Task.WhenAny(reconnect, Task.Delay(300));
            }
        };
        var pass = await f.Reconciler.ReconcileAsync();
        f.Infra.Log.OnCall = null;
        Assert.NotNull(reconnect);
        Assert.True(pass.Failed == 0, string.Join("; ", pass.Outcomes.Select(o => o.Message)));
        var again = await f.DriveAsync(reconnect!);

        var box = await f.BoxAsync("dev1");
        Assert.Equal([again.SessionId], box.Sessions.Select(s => s.Id));
        Assert.NotNull(box.InstanceId);
        Assert.True(f.Runtime.IsRunning(box.InstanceId!, volume));
        Assert.True((await f.InstanceAsync(box.InstanceId!)).BoxRunning);
        Assert.Equal(volume, f.Infra.AttachedTo(box.InstanceId!));
        Assert.True((await f.InstanceAsync(instance)).IsFree || box.InstanceId == instance);
        await f.AssertConsistentAsync();
    }
}
