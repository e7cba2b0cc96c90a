using Shellbox.Core.Boxes;
using Shellbox.Core.Errors;
using static Shellbox.Core.Tests.Flows.FlowFixture;

namespace Shellbox.Core.Tests.Flows;

/// <summary>Connects racing each other through the real store's conditional writes.</summary>
public sealed class ConcurrencyTests
{
    [Fact]
    public async Task GivenThreeFreeInstancesAndRoomForTwoMore_WhenEightNewBoxesConnectAtOnce_ThenExactlyFiveSucceedTheRestAreAtCapacityAndNothingIsShared()
    {
        // Dev allows five instances: two ready pairs and a bare instance leave room to make two more.
        await using var f = Create();
        await f.AddReadyPairAsync();
        await f.AddReadyPairAsync();
        await f.AddInstanceAsync();
        await f.AddVolumeAsync();
        await f.AddVolumeAsync();

        var outcomes = await Task.WhenAll(Flow.StartTogether(8, i => Flow.TryAsync(f.Connect.ConnectAsync(User, $"dev{i}"))));

        var won = outcomes.Where(o => o.Result is not null).Select(o => o.Result!).ToList();
        Assert.Equal(5, won.Count);
        Assert.All(outcomes.Where(o => o.Error is not null), o => Assert.Equal(ConnectFlow.AtCapacityErrorId, Assert.IsAssignableFrom<ShellboxException>(o.Error).ErrorId));
        Assert.Equal(5, won.Select(c => c.Box.InstanceId).Distinct().Count());
        Assert.Equal(5, won.Select(c => c.Box.VolumeId).Distinct().Count());
        Assert.Equal(2, won.Count(c => c.Trace.Path == "new-from-ready-pair"));
        Assert.Equal(5, (await f.Store.ReadSnapshotAsync()).Boxes.Count);
        Assert.Equal(5, (await f.Store.ReadSnapshotAsync()).Instances.Count);
        Assert.Equal(2, f.Infra.Log.Count(nameof(FakeInfrastructure.CreateInstanceAsync)));
        Assert.Equal(3, f.Infra.Log.Count(nameof(FakeInfrastructure.AttachAsync)));
        await f.AssertConsistentAsync();
    }

    [Fact]
    public async Task GivenReadyPairs_WhenTheSameNewBoxConnectsTwiceAtOnce_ThenBothAreSessionsOfOneBoxOnOneVolume()
    {
        await using var f = Create();
        for (var round = 0; round < 10; round++)
        {
            await f.AddReadyPairAsync();
            await f.AddReadyPairAsync();
            var name = $"same{round}";

            var outcomes = await Task.WhenAll(Flow.StartTogether(2, _ => Flow.TryAsync(f.Connect.ConnectAsync(User, name))));

            Assert.All(outcomes, o => Assert.Null(o.Error));
            var connections = outcomes.Select(o => o.Result!).ToList();
            Assert.Equal(1, connections.Count(c => c.Created));
            Assert.Single(connections.Select(c => c.Box.VolumeId).Distinct());
            var box = await f.BoxAsync(name);
            Assert.Equal(connections.Select(c => c.SessionId).Order(), box.Sessions.Select(s => s.Id).Order());
            var snapshot = await f.Store.ReadSnapshotAsync();
            Assert.Single(snapshot.Volumes, v => v.BoxName == name);
        }

        await f.AssertConsistentAsync();
    }

    [Fact]
    public async Task GivenBothConnectsOfOneNewBoxReadItAsMissing_WhenTheSecondCommitsFirst_ThenTheFirstJoinsInsteadOfExhaustingThePool()
    {
        await using var f = Create();
        await f.AddReadyPairAsync();
        await f.AddReadyPairAsync();
        await f.AddInstanceAsync();
        await f.AddVolumeAsync();

        // The first connect has read "no such box" and is about to bind a ready pair; the rival binds first.
        Task<BoxConnection>? rival = null;
        var once = new Flow.Once();
        f.Store.BeforeCommit = async writes =>
        {
            if (writes.Any(w => w.Kind == Ports.StoreWriteKind.Insert && w.Record is Model.BoxRecord) && once.Take())
            {
                rival = Task.Run(() => f.Connect.ConnectAsync(User, "dev1"));
                await rival;
            }
        };
        var first = await f.Connect.ConnectAsync(User, "dev1");
        f.Store.BeforeCommit = null;
        var second = await rival!;

        Assert.True(second.Created);
        Assert.False(first.Created);
        Assert.Equal("joining", first.Trace.Path);
        Assert.Equal(second.Box.VolumeId, first.Box.VolumeId);
        var snapshot = await f.Store.ReadSnapshotAsync();
        Assert.Single(snapshot.Boxes);
        Assert.Single(snapshot.Volumes, v => v.IsOwned);
        Assert.Equal(2, snapshot.Boxes[0].Sessions.Count);
        await f.AssertConsistentAsync();
    }

    [Fact]
    public async Task GivenOnlyLooseResources_WhenTheSameNewBoxIsJoinedWhileItsFirstConnectIsStillAttaching_ThenTheJoinerWaitsAndBothShareOneRunningBox()
    {
        await using var f = Create();
        await f.AddInstanceAsync();
        await f.AddInstanceAsync();
        await f.AddVolumeAsync();
        await f.AddVolumeAsync();

        Task<BoxConnection>? joiner = null;
        var once = new Flow.Once();
        f.Infra.Log.OnCall = async call =>
        {
            if (call.Name == nameof(FakeInfrastructure.AttachAsync) && once.Take())
            {
                joiner = Task.Run(() => f.Connect.ConnectAsync(User, "dev1"));
                await Task.WhenAny(joiner, Task.Delay(300));
            }
        };
        var first = await f.Connect.ConnectAsync(User, "dev1");
        f.Infra.Log.OnCall = null;
        var second = await f.DriveAsync(joiner!);

        Assert.True(first.Created);
        Assert.False(second.Created);
        Assert.Equal("joining", second.Trace.Path);
        Assert.Equal(first.Box.InstanceId, second.Box.InstanceId);
        Assert.Equal(1, f.Runtime.ColdResumes);
        Assert.Equal(1, f.Infra.Log.Count(nameof(FakeInfrastructure.AttachAsync)));
        Assert.Equal(2, (await f.BoxAsync("dev1")).Sessions.Count);
        await f.AssertConsistentAsync();
    }

    [Fact]
    public async Task GivenASuspendedBox_WhenItReturnsTwiceAtOnce_ThenOneAttachAndBothAreSessionsOnOneInstance()
    {
        await using var f = Create();
        await f.AddReadyPairAsync();
        await f.AddInstanceAsync();
        await f.AddInstanceAsync();
        var c = await f.Connect.ConnectAsync(User, "dev1");
        await f.Disconnect.DisconnectAsync(c.Box.Id, c.SessionId);
        f.ClearCalls();

        var tasks = Flow.StartTogether(2, _ => f.Connect.ConnectAsync(User, "dev1"));
        var connections = await f.DriveAsync(Task.WhenAll(tasks));

        Assert.Single(connections.Select(x => x.Box.InstanceId).Distinct());
        Assert.Equal(1, f.Infra.Log.Count(nameof(FakeInfrastructure.AttachAsync)));
        Assert.Equal(1, f.Runtime.ColdResumes);
        Assert.Equal(2, (await f.BoxAsync("dev1")).Sessions.Count);
        await f.AssertConsistentAsync();
    }
}
