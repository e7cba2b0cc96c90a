using Prometheus;
using Shellbox.Core.Observability;

namespace Shellbox.Status;

/// <summary>
/// The "Shellbox" Meter as Prometheus text, through prometheus-net's MeterAdapter into a private registry
/// (no process or runtime collectors of the host: only what Shellbox defines).
/// </summary>
internal sealed class PrometheusExport : IDisposable
{
    /// <summary>Seconds: a ready-pair connect is tens of milliseconds, a returning one on Azure can take a minute.</summary>
    private static readonly double[] LatencyBuckets = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

    private readonly CollectorRegistry registry = Metrics.NewCustomRegistry();
    private readonly IDisposable adapter;

    public PrometheusExport(Func<CancellationToken, Task> beforeCollect)
    {
        registry.AddBeforeCollectCallback(beforeCollect);
        var shellbox = ShellboxMetrics.Meter;
        adapter = MeterAdapter.StartListening(new MeterAdapterOptions
        {
            Registry = registry,
            MetricFactory = Metrics.WithCustomRegistry(registry),
            InstrumentFilterPredicate = instrument => instrument.Meter == shellbox,
            ResolveHistogramBuckets = _ => LatencyBuckets,

            // A series that stays put is still true: keep it as long as prometheus-net allows (a day); one that
            // comes back after that restarts from zero, which Prometheus reads as a counter reset.
            MetricsExpireAfter = TimeSpan.FromDays(1),
        });
    }

    public Task WriteAsync(Stream output, CancellationToken cancellationToken) =>
        registry.CollectAndExportAsTextAsync(output, cancellationToken);

    public void Dispose() => adapter.Dispose();
}
