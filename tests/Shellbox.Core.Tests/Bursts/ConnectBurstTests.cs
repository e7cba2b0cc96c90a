using Shellbox.Core.Boxes;
using Shellbox.Core.Errors;
using Shellbox.Core.Model;
using Shellbox.Core.Tests.Flows;
using static Shellbox.Core.Tests.Flows.FlowFixture;

namespace Shellbox.Core.Tests.Bursts;

/// <summary>
/// A thundering herd of new boxes against a small warm pool, through the real SQLite store's conditional
/// writes: callers beyond the ready pairs are made their boxes (slow path) up to the pool's total caps, every
/// other caller is told in one line the pool is at capacity and when to retry, nothing is claimed twice, no cap
/// is passed, and the pool is consistent afterwards.
/// </summary>
public sealed class ConnectBurstTests
{
    // Caps of 20 of each; the check interval is not a Dev or Prod figure, so the retry hint can only come from it.
    private static readonly PoolConfig Pool = PoolConfig.Dev with { MaxTotalInstances = 20, MaxTotalVolumes = 20, CheckInterval = TimeSpan.FromSeconds(45) };

    [Fact]
    public async Task GivenTenReadyPairsAndCapsOfTwenty_WhenFiftyNewBoxesConnectAtOnce_ThenTwentySucceedThirtyAreAtCapacityAndNothingIsClaimedTwice()
    {
        await using var f = Create(pool: Pool);
        for (var i = 0; i < 10; i++)
        {
            await f.AddReadyPairAsync();
        }

        var notices = Enumerable.Range(0, 50).Select(_ => new NoticeLog()).ToArray();
        var outcomes = await Task.WhenAll(Flow.StartTogether(50, i => Flow.TryAsync(new ConnectFlow(f.Engine, notices[i]).ConnectAsync(User, $"burst{i}"))));

        var won = outcomes.Select((o, i) => (o.Result, Notices: notices[i])).Where(w => w.Result is not null).ToList();
        Assert.Equal(20, won.Count);
        Assert.Equal(10, won.Count(w => w.Result!.Trace.Path == "new-from-ready-pair"));
        Assert.Equal(10, won.Count(w => w.Result!.Trace.Path == "new-made"));
        Assert.Equal(20, won.Select(w => w.Result!.Box.InstanceId).Distinct().Count());
        Assert.Equal(20, won.Select(w => w.Result!.Box.VolumeId).Distinct().Count());

        // Each made box was told once, before its wait; a box from a ready pair and a refused caller never.
        Assert.All(won, w => Assert.Equal(w.Result!.Trace.Path == "new-made" ? 1 : 0, w.Notices.Lines.Count));
        Assert.All(notices.Where((_, i) => outcomes[i].Error is not null), n => Assert.Empty(n.Lines));
        AssertAtCapacity(outcomes.Where(o => o.Error is not null).Select(o => o.Error!), expected: 30, seconds: 45);

        var snapshot = await f.Store.ReadSnapshotAsync();
        Assert.Equal(won.Select(w => w.Result!.Box.BoxName).Order(), snapshot.Boxes.Select(b => b.BoxName).Order());
        Assert.Equal(20, snapshot.Instances.Count);
        Assert.Equal(20, snapshot.Volumes.Count);
        Assert.Equal(10, f.Infra.Log.Count(nameof(FakeInfrastructure.CreateInstanceAsync)));
        Assert.Equal(10, f.Infra.Log.Count(nameof(FakeInfrastructure.CreateVolumeAsync)));
        Assert.DoesNotContain(snapshot.Instances, i => i.Mark is not null || i.Status == ResourceStatuses.Creating);
        Assert.DoesNotContain(snapshot.Volumes, v => v.Mark is not null || v.Lease is not null);
        await f.AssertConsistentAsync();

        // Every winner leaves: the twenty instances are free again and the books still balance.
        foreach (var w in won)
        {
            await f.Disconnect.DisconnectAsync(w.Result!.Box.Id, w.Result.SessionId);
        }

        snapshot = await f.Store.ReadSnapshotAsync();
        Assert.Equal(20, snapshot.Instances.Count(i => i.IsFree));
        Assert.All(snapshot.Boxes, b => Assert.Null(b.InstanceId));
        await f.AssertConsistentAsync();
    }

    [Fact]
    public async Task GivenTenReadyPairsTwoBareInstancesAndNoRoomForMoreInstances_WhenFiftyNewBoxesConnectAtOnce_ThenTwelveSucceedTheRestAreAtCapacity()
    {
        // Twelve instances exist and twelve may: the instances are the limit; volumes may still be made.
        await using var f = Create(pool: Pool with { MaxTotalInstances = 12 });
        for (var i = 0; i < 10; i++)
        {
            await f.AddReadyPairAsync();
        }

        await f.AddInstanceAsync();
        await f.AddInstanceAsync();
        await f.AddVolumeAsync();
        await f.AddVolumeAsync();
        await f.AddVolumeAsync();

        var outcomes = await Task.WhenAll(Flow.StartTogether(50, i => Flow.TryAsync(f.Connect.ConnectAsync(User, $"burst{i}"))));

        var won = outcomes.Where(o => o.Result is not null).Select(o => o.Result!).ToList();
        Assert.Equal(12, won.Count);
        Assert.Equal(12, won.Select(c => c.Box.InstanceId).Distinct().Count());
        Assert.Equal(12, won.Select(c => c.Box.VolumeId).Distinct().Count());
        Assert.Equal(0, f.Infra.Log.Count(nameof(FakeInfrastructure.CreateInstanceAsync)));
        Assert.Equal(2, f.Infra.Log.Count(nameof(FakeInfrastructure.AttachAsync)));
        AssertAtCapacity(outcomes.Where(o => o.Error is not null).Select(o => o.Error!), expected: 38, seconds: 45);

        var snapshot = await f.Store.ReadSnapshotAsync();
        Assert.Equal(12, snapshot.Boxes.Count);
        Assert.Equal(12, snapshot.Instances.Count);
        Assert.DoesNotContain(snapshot.Volumes, v => v.Lease is not null || v.Mark is not null);
        await f.AssertConsistentAsync();
    }

    [Fact]
    public async Task GivenThePoolAtItsCapsAfterABurst_WhenAWinnerLeaves_ThenARefusedCallerSucceedsOnRetry()
    {
        var single = Pool with { MinFreeInstances = 1, MaxFreeInstances = 1, MaxTotalInstances = 1 };
        await using var f = Create(pool: single);
        await f.AddReadyPairAsync();
        var outcomes = await Task.WhenAll(Flow.StartTogether(5, i => Flow.TryAsync(f.Connect.ConnectAsync(User, $"burst{i}"))));
        var refused = outcomes.Select((o, i) => (o, i)).Where(x => x.o.Error is not null).Select(x => $"burst{x.i}").ToList();
        Assert.Equal(4, refused.Count);
        var winner = Assert.Single(outcomes, o => o.Result is not null).Result!;

        // The hint is honoured: once the winner has left, its instance is free and the retry is made its box.
        await f.Disconnect.DisconnectAsync(winner.Box.Id, winner.SessionId);
        f.Time.Advance(single.CheckInterval);
        var retried = await f.Connect.ConnectAsync(User, refused[0]);

        Assert.True(retried.Created);
        Assert.Equal("new-made", retried.Trace.Path);
        Assert.Single((await f.Store.ReadSnapshotAsync()).Instances);
        await f.AssertConsistentAsync();
    }

    private static void AssertAtCapacity(IEnumerable<Exception> errors, int expected, int seconds)
    {
        var refused = errors.ToList();
        Assert.Equal(expected, refused.Count);
        Assert.All(refused, e =>
        {
            var error = Assert.IsAssignableFrom<ShellboxException>(e);
            Assert.Equal(ConnectFlow.AtCapacityErrorId, error.ErrorId);
            Assert.DoesNotContain('\n', error.Message);
            Assert.StartsWith("At capacity", error.Message);
            Assert.EndsWith($"retry in {seconds} s.", error.Message);
        });
    }
}
