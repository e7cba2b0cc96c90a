using System.Diagnostics;

namespace Shellbox.Core.Boxes;

/// <summary>How one connect went: which path it took and how long each step took, under one correlation id.</summary>
public sealed class ConnectTrace(string correlationId)
{
    private readonly List<ConnectStep> steps = [];
    private readonly Stopwatch total = Stopwatch.StartNew();

    public string CorrelationId { get; } = correlationId;

    /// <summary>new-from-ready-pair, new-with-attach, returning, lingering or joining.</summary>
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
            steps.Add(new ConnectStep(step, clock.Elapsed));
        }
    }

    internal Task TimeAsync(string step, Func<Task> work) => TimeAsync(step, async () =>
    {
        await work().ConfigureAwait(false);
        return true;
    });

    public override string ToString() =>
        $"{CorrelationId} {Path}: " + string.Join(", ", steps.Select(s => $"{s.Name} {s.Duration.TotalMilliseconds:0} ms")) + $" (total {Total.TotalMilliseconds:0} ms)";
}

public sealed record ConnectStep(string Name, TimeSpan Duration);
