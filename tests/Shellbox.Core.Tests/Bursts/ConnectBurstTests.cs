using Shellbox.Core.Errors;
using Shellbox.Core.Model;
using Shellbox.Core.Tests.Flows;
using static Shellbox.Core.Tests.Flows.FlowFixture;

namespace Shellbox.Core.Tests.Bursts;

/// <summary>
/// A thundering herd of new boxes against a small warm pool, through the real SQLite store's conditional
/// writes: as many succeed as there is room for, every other caller fails fast with one line naming when to
/// retry, nothing is claimed twice, and the pool is consistent afterwards.
/// </summary>
public sealed class ConnectBurstTests
{
    // Not a Dev or Prod figure, so the retry hint can only come from the pool's own CheckInterval.
    private static readonly PoolConfig Pool = PoolConfig.Dev with { CheckInterval = TimeSpan.FromSeconds(45) };

    [Fact]
    public async Task GivenTenReadyPairs_WhenFiftyNewBoxesConnectAtOnce_ThenTenSucceedFortyAreToldToRetryInTheCheckIntervalAndNothingIsClaimedTwice()
    {
        await using var f = Create(pool: Pool);
        for (var i = 0; i < 10; i++)
        {
            await f.AddReadyPairAsync();
        }

        var outcomes = await Task.WhenAll(Flow.StartTogether(50, i => Flow.TryAsync(f.Connect.ConnectAsync(User, $"burst{i}"))));

        var won = outcomes.Where(o => o.Result is not null).Select(o => o.Result!).ToList();
        Assert.Equal(10, won.Count);
        Assert.All(won, c => Assert.Equal("new-from-ready-pair", c.Trace.Path));
        Assert.Equal(10, won.Select(c => c.Box.InstanceId).Distinct().Count());
        Assert.Equal(10, won.Select(c => c.Box.VolumeId).Distinct().Count());
        AssertToldToRetry(outcomes.Where(o => o.Error is not null).Select(o => o.Error!), expected: 40, seconds: 45);

        var snapshot = await f.Store.ReadSnapshotAsync();
        Assert.Equal(won.Select(c => c.Box.BoxName).Order(), snapshot.Boxes.Select(b => b.BoxName).Order());
        Assert.Equal(0, f.Infra.Log.Count(nameof(FakeInfrastructure.AttachAsync)));
        await f.AssertConsistentAsync();

        // Every winner leaves: the ten instances are free again and the books still balance.
        foreach (var c in won)
        {
            await f.Disconnect.DisconnectAsync(c.Box.Id, c.SessionId);
        }

        snapshot = await f.Store.ReadSnapshotAsync();
        Assert.Equal(10, snapshot.Instances.Count(i => i.IsFree));
        Assert.All(snapshot.Boxes, b => Assert.Null(b.InstanceId));
        await f.AssertConsistentAsync();
    }

    [Fact]
    public async Task GivenTenReadyPairsAndTwoLooseSlots_WhenFiftyNewBoxesConnectAtOnce_ThenTwelveSucceedTheRestAreToldToRetry()
    {
        await using var f = Create(pool: Pool);
        for (var i = 0; i < 10; i++)
        {
            await f.AddReadyPairAsync();
        }

        await f.AddInstanceAsync();
        await f.AddInstanceAsync();
        await f.AddVolumeAsync();
        await f.AddVolumeAsync();
        await f.AddVolumeAsync(); // one volume too many: the loose instances are the limit

        var outcomes = await Task.WhenAll(Flow.StartTogether(50, i => Flow.TryAsync(f.Connect.ConnectAsync(User, $"burst{i}"))));

        var won = outcomes.Where(o => o.Result is not null).Select(o => o.Result!).ToList();
        Assert.Equal(12, won.Count);
        Assert.Equal(12, won.Select(c => c.Box.InstanceId).Distinct().Count());
        Assert.Equal(12, won.Select(c => c.Box.VolumeId).Distinct().Count());
        Assert.Equal(2, won.Count(c => c.Trace.Path == "new-with-attach"));
        AssertToldToRetry(outcomes.Where(o => o.Error is not null).Select(o => o.Error!), expected: 38, seconds: 45);
        Assert.Equal(12, (await f.Store.ReadSnapshotAsync()).Boxes.Count);
        await f.AssertConsistentAsync();
    }

    [Fact]
    public async Task GivenAnEmptyPoolAfterABurst_WhenTheNextReconcileRefillsIt_ThenARefusedCallerSucceedsOnRetry()
    {
        await using var f = Create(pool: Pool);
        await f.AddReadyPairAsync();
        var outcomes = await Task.WhenAll(Flow.StartTogether(5, i => Flow.TryAsync(f.Connect.ConnectAsync(User, $"burst{i}"))));
        var refused = outcomes.Select((o, i) => (o, i)).Where(x => x.o.Error is not null).Select(x => $"burst{x.i}").ToList();
        Assert.Equal(4, refused.Count);

        // The hint is honoured: one reconcile pass later there is room again.
        f.Time.Advance(Pool.CheckInterval);
        await f.Reconciler.ReconcileAsync();
        var retried = await f.Connect.ConnectAsync(User, refused[0]);

        Assert.True(retried.Created);
        await f.AssertConsistentAsync();
    }

    private static void AssertToldToRetry(IEnumerable<Exception> errors, int expected, int seconds)
    {
        var refused = errors.ToList();
        Assert.Equal(expected, refused.Count);
        Assert.All(refused, e =>
        {
            var error = Assert.IsAssignableFrom<ShellboxException>(e);
            Assert.Equal("PoolExhausted", error.ErrorId);
            Assert.DoesNotContain('\n', error.Message);
            Assert.Contains("Pool exhausted", error.Message);
            Assert.Contains($"try again in {seconds} s", error.Message);
        });
    }
}
