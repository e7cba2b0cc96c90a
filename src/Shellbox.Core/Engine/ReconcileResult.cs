using Shellbox.Core.Model;
using Shellbox.Core.Planning;

namespace Shellbox.Core.Engine;

/// <summary>The outcome of one action of a reconcile pass.</summary>
public sealed record ActionOutcome(PlanAction Action, bool Succeeded, string? ResourceId, string Message, TimeSpan Duration);

/// <summary>One reconcile pass: its plan and what came of each action.</summary>
public sealed record ReconcileResult(
    string CorrelationId,
    PoolPlan Plan,
    IReadOnlyList<ActionOutcome> Outcomes,
    TimeSpan Duration,
    bool Skipped)
{
    public int Succeeded => Outcomes.Count(o => o.Succeeded);

    public int Failed => Outcomes.Count(o => !o.Succeeded);

    /// <summary>When <see cref="Skipped"/>: the lock row of the reconciler that held it (null if it was released meanwhile).</summary>
    public LockRecord? LockHeldBy { get; init; }
}
