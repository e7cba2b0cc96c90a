using Shellbox.Core.Engine;

namespace Shellbox.PowerShell.Output;

/// <summary>One reconcile pass as Invoke-ShellboxPoolReconcile reports it.</summary>
public sealed class ShellboxReconcileResult
{
    internal ShellboxReconcileResult(ReconcileResult result)
    {
        CorrelationId = result.CorrelationId;
        Skipped = result.Skipped;
        Planned = result.Plan.Actions.Select(a => a.Describe()).ToArray();
        Notes = result.Plan.Notes.Select(n => n.ToString()).ToArray();
        Outcomes = result.Outcomes.Select(o => $"{(o.Succeeded ? "ok" : "FAILED")}: {o.Message} ({o.Duration.TotalSeconds:0.0} s)").ToArray();
        Succeeded = result.Succeeded;
        Failed = result.Failed;
        Duration = result.Duration;
        LockHolder = result.LockHeldBy?.Holder;
        LockExpiresAt = result.LockHeldBy?.ExpiresAt;
    }

    public string CorrelationId { get; }

    /// <summary>True when another reconciler held the lock; this pass did nothing.</summary>
    public bool Skipped { get; }

    public string[] Planned { get; }

    public string[] Notes { get; }

    public string[] Outcomes { get; }

    public int Succeeded { get; }

    public int Failed { get; }

    public TimeSpan Duration { get; }

    /// <summary>When Skipped: the pass that held the reconcile lock (correlation id, machine and process).</summary>
    public string? LockHolder { get; }

    /// <summary>When Skipped: when that lock expires if its holder never releases it.</summary>
    public DateTimeOffset? LockExpiresAt { get; }

    /// <summary>One line per pass, for a journal or a runbook's output.</summary>
    public override string ToString() =>
        Skipped
            ? $"reconcile {CorrelationId}: skipped, another reconciler holds the lock" +
              (LockHolder is null ? "" : $" ({LockHolder}, until {LockExpiresAt?.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ})")
            : Planned.Length == 0
                ? $"reconcile {CorrelationId}: no changes ({Duration.TotalSeconds:0.0} s)"
                : $"reconcile {CorrelationId}: {Planned.Length} planned, {Succeeded} ok, {Failed} failed ({Duration.TotalSeconds:0.0} s): {string.Join("; ", Planned)}";
}
