using Shellbox.Core.Engine;
using Shellbox.Core.Model;
using Shellbox.Core.Planning;
using static Shellbox.Core.Tests.Flows.FlowFixture;

namespace Shellbox.Core.Tests.Observability;

/// <summary>
/// The planner's cooldown and back-off are read from the event log by kind: a busy pool's connect events
/// (one per session) must not push the last scale-down or the last failed creates out of sight.
/// </summary>
public sealed class BusyPoolHistoryTests
{
    private const int BusyConnects = 500;

    [Fact]
    public async Task GivenAScaleDownThenFiveHundredConnects_WhenPlanned_ThenTheCooldownStillHoldsUntilItEnds()
    {
        // GIVEN seven free volumes (Dev keeps at most five), a volume scale-down 30 s ago, then 500 connects
        await using var f = Flows.FlowFixture.Create();
        for (var i = 0; i < 7; i++)
        {
            await f.AddVolumeAsync();
        }

        await f.AddInstanceAsync();
        await f.Store.AppendEventAsync(new PoolEvent(f.Time.GetUtcNow().AddSeconds(-30), "scale", PoolHistory.ScaleDownEvent, ResourceRoles.Volume, "volume-gone", true, "deleted volume-gone"));
        await AppendConnectsAsync(f);

        // WHEN planned inside the 2-minute cooldown THEN no volume is deleted
        var during = await f.Reconciler.PlanAsync();
        Assert.DoesNotContain(during.Actions, a => a is DeleteResource { Role: ResourceRoles.Volume });

        // WHEN planned after it THEN the two extra volumes go
        f.Time.Advance(TimeSpan.FromMinutes(2));
        var after = await f.Reconciler.PlanAsync();
        Assert.Equal(2, after.Actions.Count(a => a is DeleteResource { Role: ResourceRoles.Volume }));
    }

    [Fact]
    public async Task GivenThreeFailedCreatesThenFiveHundredConnects_WhenPlanned_ThenCreatesStayBackedOff()
    {
        // GIVEN an empty instance pool whose last three creates failed, then 500 connects
        await using var f = Flows.FlowFixture.Create();
        for (var i = 0; i < FailureHistory.BackOffThreshold; i++)
        {
            await f.Store.AppendEventAsync(new PoolEvent(f.Time.GetUtcNow().AddSeconds(-3 + i), "fail", PoolHistory.CreateEvent, ResourceRoles.Instance, null, false, "create instance failed: quota"));
        }

        await AppendConnectsAsync(f);

        // WHEN planned THEN no instance is created while backed off, and one is once the back-off ends
        Assert.DoesNotContain((await f.Reconciler.PlanAsync()).Actions, a => a is CreateResource { Role: ResourceRoles.Instance });
        f.Time.Advance(FailureHistory.MaxBackOff);
        Assert.Contains((await f.Reconciler.PlanAsync()).Actions, a => a is CreateResource { Role: ResourceRoles.Instance });
    }

    private static async Task AppendConnectsAsync(Flows.FlowFixture f)
    {
        for (var i = 0; i < BusyConnects; i++)
        {
            await f.Store.AppendEventAsync(new PoolEvent(f.Time.GetUtcNow(), $"connect-{i}", "connect", "box", BoxId($"dev{i % 20}"), true, "path=returning total_ms=40"));
        }
    }
}
