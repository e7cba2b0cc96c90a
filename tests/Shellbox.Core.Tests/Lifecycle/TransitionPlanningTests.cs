using Shellbox.Core.Lifecycle;
using Shellbox.Core.Model;
using Shellbox.Core.Planning;
using static Shellbox.Core.Tests.Planning.PoolRows;

namespace Shellbox.Core.Tests.Lifecycle;

/// <summary>What the pure planner does with transition marks: repair each expired one, leave live ones to their holder.</summary>
public sealed class TransitionPlanningTests
{
    private static TransitionMark Mark(TransitionAct act, DateTimeOffset expiresAt) => new(act, "corr-9", expiresAt);

    [Fact]
    public void GivenBoxesMarkedByAReleaseAndARemoval_WhenOnlySomeMarksHaveExpired_ThenEachExpiredOneIsRepairedFirstAndLiveOnesAreLeftAlone()
    {
        var snapshot = Snapshot(
            [Instance("i1", ResourceStatuses.Connected, volumeId: "v1")],
            [
                Volume("v1", ResourceStatuses.Attached, userId: "ada", instanceId: "i1"),
                Volume("v2", ResourceStatuses.Suspended, userId: "bob") with { BoxName = "dev" },
                Volume("v3", ResourceStatuses.Suspended, userId: "cy"),
            ],
            [
                Box("ada", "v1", "i1") with { Mark = Mark(TransitionAct.Release, Start.AddSeconds(-1)) },
                Box("bob", "v2") with { Mark = Mark(TransitionAct.Remove, Start) },
                Box("cy", "v3") with { Mark = Mark(TransitionAct.Remove, Start.AddSeconds(1)) },
            ]);

        var plan = PoolPlanner.Plan(InStep(snapshot, Start));

        Assert.Equal(
            [new RepairTransition(BoxRecord.IdFor("ada", "dev"), TransitionAct.Release, "corr-9"), new RepairTransition(BoxRecord.IdFor("bob", "dev"), TransitionAct.Remove, "corr-9")],
            plan.Actions.Take(2));
        Assert.DoesNotContain(plan.Actions, a => a is RepairTransition { Id: var id } && id == BoxRecord.IdFor("cy", "dev"));
    }

    [Fact]
    public void GivenAVolumeMarkedByItsBoxRemoval_WhenTheMarkHasExpired_ThenOnlyTheBoxIsRepairedAndTheVolumeIsNeverReset()
    {
        var mark = Mark(TransitionAct.Remove, Start.AddHours(-1));
        var snapshot = Snapshot(
            [],
            [Volume("v1", ResourceStatuses.Deleting, lastUsed: Start.AddHours(-2), userId: "ada") with { Mark = mark }],
            [Box("ada", "v1") with { Mark = mark }]);

        var plan = PoolPlanner.Plan(InStep(snapshot, Start));

        Assert.Contains(plan.Actions, a => a is RepairTransition);
        Assert.DoesNotContain(plan.Actions, a => a is ResetStuck or DeleteResource or ForgetGhost);
    }

    [Fact]
    public void GivenRowsMarkedCreating_WhenTheirMarksExpireBeforeOrAfterTheGracePeriod_ThenTheMarkDecidesNotTheGracePeriod()
    {
        var snapshot = Snapshot(
            [
                Instance("i-expired", ResourceStatuses.Creating, lastUsed: Start.AddMinutes(-3)) with { Mark = Mark(TransitionAct.Create, Start.AddMinutes(-1)) },
                Instance("i-live", ResourceStatuses.Creating, lastUsed: Start.AddMinutes(-30)) with { Mark = Mark(TransitionAct.Create, Start.AddMinutes(5)) },
            ],
            []);

        var plan = PoolPlanner.Plan(InStep(snapshot, Start));

        Assert.Equal([new ResetStuck(ResourceRoles.Instance, "i-expired")], plan.Actions.OfType<ResetStuck>());
    }
}
