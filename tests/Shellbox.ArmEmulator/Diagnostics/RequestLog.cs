using System.Globalization;
using System.Text;

namespace Shellbox.ArmEmulator;

/// <summary>One request the emulator answered.</summary>
public sealed record RequestLogEntry(
    DateTimeOffset Time,
    string Method,
    string Path,
    string? ApiVersion,
    int Status,
    TimeSpan Duration,
    bool Injected)
{
    /// <summary>PUT, PATCH, POST and DELETE change state; a Resource Graph query is a POST that does not.</summary>
    public bool IsWrite =>
        Method is "PUT" or "PATCH" or "DELETE"
        || (Method == "POST" && !Path.Contains("/Microsoft.ResourceGraph/", StringComparison.OrdinalIgnoreCase));

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Time:HH:mm:ss.fff} {Method,-6} {Status} {Duration.TotalMilliseconds,6:0.0}ms {Path} api-version={ApiVersion ?? "-"}{(Injected ? " (injected)" : "")}");
}

/// <summary>Every request, in order; thread-safe. Tests mark a point and count what came after it.</summary>
public sealed class RequestLog
{
    private readonly List<RequestLogEntry> _entries = [];
    private readonly object _gate = new();

    /// <summary>Raised after each request is recorded (the standalone host prints it with --log).</summary>
    public event Action<RequestLogEntry>? Recorded;

    public int Count
    {
        get { lock (_gate) return _entries.Count; }
    }

    public IReadOnlyList<RequestLogEntry> Snapshot()
    {
        lock (_gate) return _entries.ToArray();
    }

    /// <summary>A position to count from later.</summary>
    public int Mark() => Count;

    public IReadOnlyList<RequestLogEntry> Since(int mark)
    {
        lock (_gate) return _entries.Skip(mark).ToArray();
    }

    /// <summary>Writes (PUT/PATCH/POST/DELETE, Resource Graph queries excluded) after <paramref name="mark"/>,
    /// injected faults included since the client sent them.</summary>
    public int CountWritesSince(int mark) => Since(mark).Count(e => e.IsWrite);

    public void Clear()
    {
        lock (_gate) _entries.Clear();
    }

    internal void Add(RequestLogEntry entry)
    {
        lock (_gate) _entries.Add(entry);
        Recorded?.Invoke(entry);
    }

    public override string ToString()
    {
        var text = new StringBuilder();
        foreach (var entry in Snapshot()) text.AppendLine(entry.ToString());
        return text.ToString();
    }
}
