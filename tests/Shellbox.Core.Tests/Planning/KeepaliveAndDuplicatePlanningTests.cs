using Shellbox.Core.Lifecycle;
using Shellbox.Core.Model;
using Shellbox.Core.Planning;
using static Shellbox.Core.Tests.Planning.PoolRows;

namespace Shellbox.Core.Tests.Planning;

/// <summary>What the pure planner does with kept-alive boxes and with the rows of a duplicate cut short.</summary>
public sealed class KeepaliveAndDuplicatePlanningTests
{
    [Fact]
    public void GivenBoxesKeptRunningByAKeepalive_WhenOnlyOneHasRunOutWithNobodyConnected_ThenOnlyThatOneIsSuspendedAndItsInstanceLeaseIsNotAlsoReclaimed()
    {
        var snapshot = Snapshot(
            [
                Instance("i1", ResourceStatuses.Connected, volumeId: "v1", boxRunning: true, lease: new Lease(BoxRecord.IdFor("ada", "dev"), Start.AddSeconds(-1), "keepalive")),
                Instance("i2", ResourceStatuses.Connected, volumeId: "v2", boxRunning: true, lease: new Lease(BoxRecord.IdFor("bob", "dev"), Start.AddMinutes(30), "keepalive")),
                Instance("i3", ResourceStatuses.Connected, volumeId: "v3", boxRunning: true, lease: LeaseUntil(Start.AddMinutes(1))),
            ],
            [
                Volume("v1", ResourceStatuses.Attached, userId: "ada", instanceId: "i1"),
                Volume("v2", ResourceStatuses.Attached, userId: "bob", instanceId: "i2"),
                Volume("v3", ResourceStatuses.Attached, userId: "cy", instanceId: "i3"),
            ],
            [
                Box("ada", "v1", "i1") with { Keepalive = TimeSpan.FromHours(1), KeptAliveUntil = Start.AddSeconds(-1) },
                Box("bob", "v2", "i2") with { Keepalive = TimeSpan.FromHours(1), KeptAliveUntil = Start.AddMinutes(30) },

                // A session joined after the keepalive ran out: the box is in use, not ended.
                Box("cy", "v3", "i3") with { KeptAliveUntil = Start.AddHours(-1), Sessions = [new BoxSession("s1", Start.AddMinutes(1), "c1")] },
            ]);

        var plan = PoolPlanner.Plan(InStep(snapshot, Start));

        Assert.Equal([new EndKeepalive(BoxRecord.IdFor("ada", "dev"), "i1", Start.AddSeconds(-1))], plan.Actions.OfType<EndKeepalive>());
        Assert.DoesNotContain(plan.Actions, a => a is ReclaimLease);
    }

    [Fact]
    public void GivenTheRowsOfADuplicateCutShort_WhenTheirMarkHasExpired_ThenTheBoxesAreRepairedAndTheCopysVolumeIsNeverResetToLookComplete()
    {
        var mark = new TransitionMark(TransitionAct.Duplicate, "corr-9", Start.AddMinutes(-1));
        var snapshot = Snapshot(
            [],
            [
                Volume("v-source", ResourceStatuses.Suspended, userId: "ada"),
                Volume("v-copy", ResourceStatuses.Creating, lastUsed: Start.AddMinutes(-20), userId: "ada") with { BoxName = "dev-copy", Mark = mark, CopiedFrom = "v-source" },
            ],
            [
                Box("ada", "v-source") with { Mark = mark },
                Box("ada", "v-copy") with { Id = BoxRecord.IdFor("ada", "dev-copy"), BoxName = "dev-copy", Mark = mark },
            ]);

        var plan = PoolPlanner.Plan(InStep(snapshot, Start));

        Assert.Equal(
            [BoxRecord.IdFor("ada", "dev"), BoxRecord.IdFor("ada", "dev-copy")],
            plan.Actions.OfType<RepairTransition>().Where(r => r.Act == TransitionAct.Duplicate).Select(r => r.Id).Order(StringComparer.Ordinal));
        Assert.DoesNotContain(plan.Actions, a => a is ResetStuck or DeleteResource or ForgetGhost);
    }
}
