using System.Diagnostics;

namespace Shellbox.Core.Boxes;

/// <summary>How one connect went: which path it took and how long each step took, under one correlation id.</summary>
public sealed class ConnectTrace(string correlationId)
{
    private readonly List<ConnectStep> steps = [];
    private readonly Stopwatch total = Stopwatch.StartNew();

    public string CorrelationId { get; } = correlationId;

    /// <summary>new-from-ready-pair, new-with-attach, new-made (slow path), returning, returning-made (slow path), lingering or joining.</summary>
    public string Path { get; internal set; } = "unknown";

    public IReadOnlyList<ConnectStep> Steps => steps;

    /// <summary>True when the box's saved state was lost and it was booted fresh from its disk.</summary>
    public bool ColdBooted { get; internal set; }

    public TimeSpan Total => total.Elapsed;

    internal async Task<T> TimeAsync<T>(string step, Func<Task<T>> work)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            return await work().ConfigureAwait(false);
        }
        finally
        {
            // A connect that decides again (a lost race, a ready pair broken up) runs a step twice: one step, its times added.
            var earlier = steps.FindIndex(s => s.Name == step);
            if (earlier < 0)
            {
                steps.Add(new ConnectStep(step, clock.Elapsed));
            }
            else
            {
                steps[earlier] = steps[earlier] with { Duration = steps[earlier].Duration + clock.Elapsed };
            }
        }
    }

    internal Task TimeAsync(string step, Func<Task> work) => TimeAsync(step, async () =>
    {
        await work().ConfigureAwait(false);
        return true;
    });

    /// <summary>One structured log line: correlation=… path=… claim_ms=… resume_ms=… total_ms=….</summary>
    public override string ToString() =>
        string.Join(' ', new[] { $"correlation={CorrelationId}", $"path={Path}" }
            .Concat(steps.Select(s => $"{s.Name.Replace('-', '_')}_ms={s.Duration.TotalMilliseconds:0}"))
            .Append($"total_ms={Total.TotalMilliseconds:0}")
            .Concat(ColdBooted ? ["cold_booted=true"] : []));
}

public sealed record ConnectStep(string Name, TimeSpan Duration);
