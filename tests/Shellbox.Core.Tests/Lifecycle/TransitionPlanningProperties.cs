using CsCheck;
using Shellbox.Core.Lifecycle;
using Shellbox.Core.Model;
using Shellbox.Core.Planning;
using static Shellbox.Core.Tests.Planning.PoolRows;

namespace Shellbox.Core.Tests.Lifecycle;

/// <summary>Over generated boxes with marks: every expired mark is repaired once, no live one is touched, a removal's volume is never reset or deleted.</summary>
public sealed class TransitionPlanningProperties
{
    private static readonly Gen<TransitionMark?> MarkGen = Gen.Frequency(
        (2, Gen.Const<TransitionMark?>((TransitionMark?)null)),
        (3, from act in Gen.Enum<TransitionAct>()
            from minutes in Gen.Int[-30, 30]
            select (TransitionMark?)new TransitionMark(act, "owner", Start.AddMinutes(minutes))));

    private static readonly Gen<(BoxRecord Box, VolumeRecord Volume)> BoxGen =
        from n in Gen.Int[0, 5]
        from mark in MarkGen
        from status in Gen.OneOfConst(ResourceStatuses.Suspended, ResourceStatuses.Deleting)
        select (
            Box($"u{n}", $"v{n}") with { Mark = mark },
            Volume($"v{n}", status, userId: $"u{n}") with { Mark = status == ResourceStatuses.Deleting ? mark : null });

    [Fact]
    public void EveryExpiredMarkIsRepairedOnceAndARemovalsVolumeIsNeverResetOrDeleted()
    {
        BoxGen.List[0, 8].Sample(rows =>
        {
            var boxes = rows.DistinctBy(r => r.Box.Id).ToList();
            var plan = PoolPlanner.Plan(InStep(Snapshot([], boxes.Select(b => b.Volume), boxes.Select(b => b.Box)), Start));

            var expired = boxes.Where(b => b.Box.Mark?.IsExpired(Start) == true).Select(b => b.Box.Id).Order().ToList();
            var repaired = plan.Actions.OfType<RepairTransition>().Select(a => a.Id).Order().ToList();
            var removing = boxes.Where(b => b.Volume.Mark?.Act == TransitionAct.Remove).Select(b => b.Volume.Id).ToHashSet();
            return expired.SequenceEqual(repaired)
                && !plan.Actions.Any(a => DeletedOrReset(a) is { } id && removing.Contains(id));
        }, iter: 2_000);
    }

    private static string? DeletedOrReset(PlanAction action) => action switch
    {
        ResetStuck a => a.Id,
        DeleteResource a => a.Id,
        ForgetGhost a => a.Id,
        DeleteOrphan a => a.Id,
        _ => null,
    };
}
