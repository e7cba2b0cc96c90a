using System.Diagnostics.Metrics;
using Shellbox.Core.Boxes;
using Shellbox.Core.Engine;
using Shellbox.Core.Planning;
using Shellbox.Core.Pools;

namespace Shellbox.Core.Observability;

/// <summary>
/// Every Shellbox instrument, defined once on the "Shellbox" <see cref="Meter"/> (System.Diagnostics.Metrics:
/// any exporter can listen, Core depends on none). Flows record with one call each, from what they already
/// have (a finished <see cref="ConnectTrace"/>, a <see cref="ReconcileResult"/>). The pool gauges read the
/// last <see cref="PoolReport"/> handed to <see cref="ObservePool"/>: whoever exports (the status server,
/// before each scrape) reads the store once, and an observation never reads it by itself.
/// Instrument names follow Prometheus conventions (unit suffix, _total on counters) because the exporter we
/// ship, prometheus-net, prefixes the meter name and adds no suffix: shellbox_connect_duration_seconds_bucket, ...
/// </summary>
public static class ShellboxMetrics
{
    public const string MeterName = "Shellbox";

    /// <summary>The one Meter; an exporter that reads this property also creates every instrument, gauges included.</summary>
    public static Meter Meter { get; } = new(MeterName);

    private static readonly Histogram<double> ConnectDuration = Meter.CreateHistogram<double>(
        "connect_duration_seconds", "s", "Time from connect to a running box, by path (new-from-ready-pair, new-with-attach, returning, lingering, joining) and outcome.");

    private static readonly Histogram<double> ClaimDuration = Meter.CreateHistogram<double>(
        "claim_duration_seconds", "s", "Time to claim an instance and volume in the store, by connect path.");

    private static readonly Counter<long> ReconcileActions = Meter.CreateCounter<long>(
        "reconcile_actions_total", "{action}", "Reconcile actions carried out, by kind and outcome (succeeded, failed).");

    private static readonly Counter<long> ReconcilePasses = Meter.CreateCounter<long>(
        "reconcile_passes_total", "{pass}", "Reconcile passes, by outcome (done, skipped when another reconciler held the lock).");

    private static readonly Counter<long> LeaseReclaims = Meter.CreateCounter<long>(
        "lease_reclaims_total", "{lease}", "Expired leases reclaimed, by role and by whom (reconcile, connect).");

    private static PoolReport? lastPool;
    private static string? lastGolden;

    static ShellboxMetrics()
    {
        Meter.CreateObservableGauge("pool_resources", ObserveResources, "{resource}", "Instances and volumes in the store, by role and status (free, in_use, creating, deleting).");
        Meter.CreateObservableGauge("pool_ready_pairs", () => lastPool is { Pools.Count: > 0 } pool
            ? [new Measurement<long>(pool.Pools[0].ReadyPairs)]
            : Array.Empty<Measurement<long>>(), "{pair}", "Free instances with a free volume attached and resumed.");
        Meter.CreateObservableGauge("pool_bound", ObserveBounds, "{resource}", "The configured bounds of each pool (min_free, max_free, max_total).");
        Meter.CreateObservableGauge("pool_drift", ObserveDrift, "{resource}", "Resources only the provider lists (orphan) or only the store holds (ghost), by role.");
        Meter.CreateObservableGauge("golden_info", () => lastGolden is { } golden
            ? [new Measurement<long>(1, new KeyValuePair<string, object?>("version", golden))]
            : Array.Empty<Measurement<long>>(), null, "The golden snapshot new volumes are cloned from: 1, with its version as a tag.");
    }

    /// <summary>Records one finished connect: its total and claim times under its path.</summary>
    public static void RecordConnect(ConnectTrace trace, bool succeeded)
    {
        ArgumentNullException.ThrowIfNull(trace);
        var path = new KeyValuePair<string, object?>("path", trace.Path);
        ConnectDuration.Record(trace.Total.TotalSeconds, path, new KeyValuePair<string, object?>("outcome", succeeded ? "succeeded" : "failed"));
        foreach (var claim in trace.Steps.Where(s => s.Name.StartsWith("claim", StringComparison.Ordinal)))
        {
            ClaimDuration.Record(claim.Duration.TotalSeconds, path);
        }
    }

    /// <summary>Records one reconcile pass: every action by kind and outcome, and the leases it reclaimed.</summary>
    public static void RecordReconcile(ReconcileResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        ReconcilePasses.Add(1, new KeyValuePair<string, object?>("outcome", result.Skipped ? "skipped" : "done"));
        foreach (var outcome in result.Outcomes)
        {
            ReconcileActions.Add(1,
                new KeyValuePair<string, object?>("kind", ActionKind(outcome.Action)),
                new KeyValuePair<string, object?>("outcome", outcome.Succeeded ? "succeeded" : "failed"));
            if (outcome is { Succeeded: true, Action: ReclaimLease reclaim })
            {
                RecordLeaseReclaim(reclaim.Role, "reconcile");
            }
        }
    }

    /// <summary>Records one lease reclaimed outside a reconcile pass (a connect that found the pool held by an expired linger).</summary>
    public static void RecordLeaseReclaim(string role, string by) =>
        LeaseReclaims.Add(1, new KeyValuePair<string, object?>("role", role), new KeyValuePair<string, object?>("by", by));

    /// <summary>The pool state the gauges report until the next call, and the golden version (null: none yet).</summary>
    public static void ObservePool(PoolReport report, string? goldenVersion)
    {
        lastPool = report ?? throw new ArgumentNullException(nameof(report));
        lastGolden = goldenVersion;
    }

    /// <summary>The kind of a plan action as a metric tag: create-resource, delete-resource, reclaim-lease, ...</summary>
    public static string ActionKind(PlanAction action)
    {
        ArgumentNullException.ThrowIfNull(action);
        var name = action.GetType().Name;
        return string.Concat(name.Select((c, i) => char.IsUpper(c) && i > 0 ? "-" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));
    }

    private static IEnumerable<Measurement<long>> ObserveResources()
    {
        foreach (var pool in lastPool?.Pools ?? [])
        {
            var role = new KeyValuePair<string, object?>("role", pool.Pool);
            yield return new Measurement<long>(pool.Free, role, new("status", "free"));
            yield return new Measurement<long>(pool.InUse, role, new("status", "in_use"));
            yield return new Measurement<long>(pool.Creating, role, new("status", "creating"));
            yield return new Measurement<long>(pool.Deleting, role, new("status", "deleting"));
        }
    }

    private static IEnumerable<Measurement<long>> ObserveBounds()
    {
        foreach (var pool in lastPool?.Pools ?? [])
        {
            var role = new KeyValuePair<string, object?>("role", pool.Pool);
            yield return new Measurement<long>(pool.Bounds.MinFree, role, new("bound", "min_free"));
            yield return new Measurement<long>(pool.Bounds.MaxFree, role, new("bound", "max_free"));
            yield return new Measurement<long>(pool.Bounds.MaxTotal, role, new("bound", "max_total"));
        }
    }

    private static IEnumerable<Measurement<long>> ObserveDrift()
    {
        foreach (var drift in lastPool?.Drift ?? [])
        {
            var role = new KeyValuePair<string, object?>("role", drift.Pool);
            yield return new Measurement<long>(drift.Orphans.Count, role, new("kind", "orphan"));
            yield return new Measurement<long>(drift.Ghosts.Count, role, new("kind", "ghost"));
        }
    }
}
