using Microsoft.Extensions.Logging;
using Shellbox.Core.Engine;
using Shellbox.Core.Model;

namespace Shellbox.Core.Observability;

/// <summary>
/// What a finished reconcile pass leaves behind: its metrics, one summary line and a failure line per failed
/// action, a "reconcile" event (what /pool/status shows as the recent outcome, from any process), and the
/// event log trimmed to its retention.
/// </summary>
public static class ReconcileRecorder
{
    public const string PassEvent = "reconcile";

    public static async Task FinishedAsync(ShellboxEngine engine, ReconcileResult result, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(result);
        ShellboxMetrics.RecordReconcile(result);
        var log = ShellboxLog.For("Shellbox.Core.Reconcile");
        foreach (var failed in result.Outcomes.Where(o => !o.Succeeded))
        {
            log.LogWarning("reconcile action failed kind={Kind} resource={ResourceId} message={Message}", ShellboxMetrics.ActionKind(failed.Action), failed.ResourceId, failed.Message);
        }

        var summary = $"actions={result.Outcomes.Count} succeeded={result.Succeeded} failed={result.Failed} duration_ms={result.Duration.TotalMilliseconds:0}";
        log.LogInformation("reconcile pass {Summary}", summary);
        if (result.Skipped)
        {
            return;
        }

        var now = engine.Time.GetUtcNow();
        await engine.Store.AppendEventAsync(new PoolEvent(now, result.CorrelationId, PassEvent, "pool", null, result.Failed == 0, summary), cancellationToken).ConfigureAwait(false);
        var retention = engine.Settings.Events;
        var pruned = await engine.Store.PruneEventsAsync(retention.OldestKept(now), retention.MaxCount, cancellationToken).ConfigureAwait(false);
        if (pruned > 0)
        {
            log.LogInformation("events pruned count={Count} max_age_days={MaxAgeDays} max_count={MaxCount}", pruned, retention.MaxAge.TotalDays, retention.MaxCount);
        }
    }
}
