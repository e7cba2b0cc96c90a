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
}
