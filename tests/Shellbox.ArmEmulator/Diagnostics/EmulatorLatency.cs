using System.Collections.Concurrent;

namespace Shellbox.ArmEmulator;

/// <summary>How long each kind of operation takes, settable at runtime. A range gives a uniformly random
/// duration per operation.</summary>
public sealed class EmulatorLatency
{
    public const string VmCreate = "vm-create";
    public const string VmUpdate = "vm-update";
    public const string VmDelete = "vm-delete";
    public const string DiskCreate = "disk-create";
    public const string DiskUpdate = "disk-update";
    public const string DiskDelete = "disk-delete";
    public const string SnapshotCreate = "snapshot-create";
    public const string SnapshotDelete = "snapshot-delete";
    public const string TagsMerge = "tags-merge";
    public const string GraphQuery = "graph-query";
    public const string Get = "get";

    public static readonly IReadOnlyList<string> Kinds =
        [VmCreate, VmUpdate, VmDelete, DiskCreate, DiskUpdate, DiskDelete, SnapshotCreate, SnapshotDelete, TagsMerge, GraphQuery, Get];

    private readonly ConcurrentDictionary<string, (TimeSpan Min, TimeSpan Max)> _ranges = new(StringComparer.OrdinalIgnoreCase);

    internal EmulatorLatency(LatencyProfile profile)
    {
        foreach (var kind in Kinds) _ranges[kind] = (TimeSpan.Zero, TimeSpan.Zero);
        if (profile == LatencyProfile.SeedScaled)
        {
            // Seed 003: each VM or disk BeginCreateOrUpdate took 30-60 s and queries 1-2 s; divided by 100.
            var write = (TimeSpan.FromMilliseconds(300), TimeSpan.FromMilliseconds(600));
            foreach (var kind in new[] { VmCreate, VmUpdate, VmDelete, DiskCreate, DiskUpdate, DiskDelete, SnapshotCreate, SnapshotDelete, TagsMerge })
                _ranges[kind] = write;
            _ranges[GraphQuery] = (TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(20));
            _ranges[Get] = (TimeSpan.FromMilliseconds(8), TimeSpan.FromMilliseconds(12));
        }
    }

    public void Set(string kind, TimeSpan latency) => Set(kind, latency, latency);

    public void Set(string kind, TimeSpan min, TimeSpan max)
    {
        if (max < min) throw new ArgumentException("max is below min", nameof(max));
        _ranges[kind] = (min, max);
    }

    public (TimeSpan Min, TimeSpan Max) Range(string kind) =>
        _ranges.TryGetValue(kind, out var range) ? range : (TimeSpan.Zero, TimeSpan.Zero);

    /// <summary>A duration for one operation of <paramref name="kind"/>.</summary>
    public TimeSpan Next(string kind)
    {
        var (min, max) = Range(kind);
        return min == max ? min : min + TimeSpan.FromTicks((long)(Random.Shared.NextDouble() * (max - min).Ticks));
    }
}
