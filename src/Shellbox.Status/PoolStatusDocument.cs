using System.Text.Json;
using System.Text.Json.Serialization;
using Shellbox.Core.Engine;
using Shellbox.Core.Model;
using Shellbox.Core.Observability;
using Shellbox.Core.Pools;

namespace Shellbox.Status;

/// <summary>
/// What /pool/status answers: the counts Get-ShellboxPool shows (by role and status, ready pairs, bounds,
/// drift), the golden version, and the newest reconcile pass from the event log (written by whichever
/// process reconciled: the systemd unit, the runbook, a cmdlet).
/// </summary>
public sealed record PoolStatusDocument(
    DateTimeOffset Time,
    string Provider,
    string PoolConfig,
    int ReadyPairs,
    IReadOnlyList<PoolStatus> Pools,
    IReadOnlyList<PoolDrift> Drift,
    string? InventoryError,
    string? GoldenVersion,
    ReconcileSummary? LastReconcile)
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>One read of the store, the inventory, the golden snapshot and the newest reconcile event.</summary>
    public static async Task<PoolStatusDocument> ReadAsync(ShellboxEngine engine, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(engine);
        var report = PoolReport.ReadAsync(engine, cancellationToken);
        var golden = engine.Infrastructure.GetGoldenSnapshotAsync(cancellationToken);
        var passes = engine.Store.QueryEventsAsync(new EventQuery { Kind = ReconcileRecorder.PassEvent, Max = 1 }, cancellationToken);
        await Task.WhenAll(report, golden, passes).ConfigureAwait(false);
        var pools = report.Result.Pools;
        return new PoolStatusDocument(
            engine.Time.GetUtcNow(),
            engine.Settings.Provider,
            engine.Settings.Pool.Name,
            pools.Count > 0 ? pools[0].ReadyPairs : 0,
            pools,
            report.Result.Drift,
            report.Result.InventoryError,
            golden.Result?.Version,
            passes.Result.Count > 0 ? ReconcileSummary.From(passes.Result[0]) : null)
        {
            Report = report.Result,
        };
    }

    /// <summary>The report the counts came from (fed to the metric gauges); not serialized.</summary>
    [JsonIgnore]
    public PoolReport? Report { get; init; }

    public string ToJson() => JsonSerializer.Serialize(this, Json);
}

/// <summary>The newest reconcile pass: when, under which correlation id, whether every action succeeded, and its counts.</summary>
public sealed record ReconcileSummary(DateTimeOffset Time, string CorrelationId, bool Succeeded, string Summary)
{
    public static ReconcileSummary From(PoolEvent pass) =>
        new(pass.Timestamp, pass.CorrelationId, pass.Succeeded, pass.Message);
}
