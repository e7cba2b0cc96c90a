using System.Diagnostics.Metrics;
using Shellbox.Core.Errors;
using Shellbox.Core.Observability;
using Shellbox.Core.Settings;
using static Shellbox.Core.Tests.Flows.FlowFixture;

namespace Shellbox.Core.Tests.Observability;

/// <summary>What an operator reads: connect latency under its path, log lines under one correlation id, retention from shellbox.json.</summary>
[Collection(nameof(TelemetryTests))] // ShellboxLog.Factory and the Meter are process-wide
public sealed class TelemetryTests
{
    [Fact]
    public async Task GivenAReadyPair_WhenANewBoxConnects_ThenOneConnectAndOneClaimAreMeasuredUnderItsPath()
    {
        await using var f = Flows.FlowFixture.Create();
        await f.AddReadyPairAsync();
        var measured = new List<(string Instrument, double Value, string? Path, string? Outcome)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter == ShellboxMetrics.Meter)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
        {
            var all = tags.ToArray();
            string? Tag(string key) => all.FirstOrDefault(t => t.Key == key).Value as string;
            lock (measured)
            {
                measured.Add((instrument.Name, value, Tag("path"), Tag("outcome")));
            }
        });
        listener.Start();

        var connection = await f.Connect.ConnectAsync(User, "metered");

        List<(string Instrument, double Value, string? Path, string? Outcome)> mine;
        lock (measured)
        {
            mine = measured.Where(m => m.Path == "new-from-ready-pair").ToList();
        }

        // Other tests connect in parallel: this connect is one of the measurements, no longer than its trace has run.
        Assert.Contains(mine, m => m is { Instrument: "connect_duration_seconds", Outcome: "succeeded" } && m.Value > 0 && m.Value <= connection.Trace.Total.TotalSeconds);
        Assert.Contains(mine, m => m.Instrument == "claim_duration_seconds" && m.Value <= connection.Trace.Total.TotalSeconds);
    }

    [Fact]
    public async Task GivenARoute_WhenAPassReconciles_ThenItsLinesCarryOneCorrelationIdAndADroppedErrorIsAWarningLine()
    {
        await using var f = Flows.FlowFixture.Create();
        var verbose = new List<string>();
        var debug = new List<string>();
        string correlation;
        using (LogRoute.To(verbose.Add, debug.Add))
        {
            var result = await f.Reconciler.ReconcileAsync();
            correlation = result.CorrelationId;
            ShellboxLog.Dropped("Shellbox.Test", "cleanup of thing=x failed", new IOException("disk gone"));
        }

        Assert.Contains($"correlation={correlation} reconcile pass actions=3 succeeded=3 failed=0", string.Join('\n', verbose));
        Assert.Contains("warning: cleanup of thing=x failed error=IOException: disk gone", verbose);

        // Outside the route nothing is written anywhere.
        ShellboxLog.Dropped("Shellbox.Test", "unrouted", new IOException("nobody listens"));
        Assert.DoesNotContain(verbose, l => l.Contains("unrouted", StringComparison.Ordinal));
    }

    [Fact]
    public void GivenEventsInShellboxJson_ThenRetentionFollowsThemAndANonPositiveValueIsRefused()
    {
        var folder = Directory.CreateTempSubdirectory("shellbox-retention-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(folder, "shellbox.json"), """{ "events": { "maxAgeDays": 7, "maxCount": 500 } }""");
            var settings = SettingsResolver.Resolve(folder, _ => null);
            Assert.Equal(new EventRetention(TimeSpan.FromDays(7), 500), settings.Events);
            Assert.Null(settings.Providers["events"]);

            File.WriteAllText(Path.Combine(folder, "shellbox.json"), """{ "events": { "maxCount": 0 } }""");
            var refused = Assert.Throws<ShellboxException>(() => SettingsResolver.Resolve(folder, _ => null));
            Assert.Contains("events.maxCount", refused.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
