using System.Text.Json.Nodes;

namespace Shellbox.ArmEmulator.Graph;

/// <summary>Timestamped shapes of every resource, so Resource Graph can answer "as of now - lag" the way the
/// real index trails ARM writes (seed 003: tag changes took up to 2 minutes to show).</summary>
internal sealed class ResourceGraphHistory(TimeProvider clock, TimeSpan lag)
{
    private readonly Dictionary<string, List<(DateTimeOffset At, JsonObject? Row)>> _byId = new(StringComparer.OrdinalIgnoreCase);
    private readonly object _gate = new();

    public TimeSpan Lag { get; } = lag;

    /// <summary>Records the resource's row (null = deleted) as of now.</summary>
    public void Record(string id, JsonObject? row)
    {
        var now = clock.GetUtcNow();
        lock (_gate)
        {
            if (!_byId.TryGetValue(id, out var versions)) _byId[id] = versions = [];
            versions.Add((now, row));
            // Versions older than the newest one already visible can never be answered again.
            var visible = versions.FindLastIndex(v => v.At <= now - Lag);
            if (visible > 0) versions.RemoveRange(0, visible);
        }
    }

    /// <summary>Every resource as it was at <paramref name="asOf"/>, ordered by id.</summary>
    public IReadOnlyList<JsonObject> RowsAsOf(DateTimeOffset asOf)
    {
        lock (_gate)
        {
            var rows = new List<JsonObject>();
            foreach (var (_, versions) in _byId.OrderBy(p => p.Key, StringComparer.OrdinalIgnoreCase))
            {
                var index = versions.FindLastIndex(v => v.At <= asOf);
                if (index >= 0 && versions[index].Row is { } row) rows.Add((JsonObject)row.DeepClone());
            }
            return rows;
        }
    }
}
