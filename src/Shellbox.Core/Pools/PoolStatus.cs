using Shellbox.Core.Model;

namespace Shellbox.Core.Pools;

/// <summary>Counts of one pool by status, with its bounds: what Get-ShellboxPool shows.</summary>
public sealed record PoolStatus(
    string Pool,
    int Free,
    int ReadyPairs,
    int InUse,
    int Creating,
    int Deleting,
    int Total,
    PoolBounds Bounds)
{
    /// <summary>Counts both pools of one snapshot.</summary>
    public static IReadOnlyList<PoolStatus> From(PoolSnapshot snapshot, PoolConfig config)
    {
        var readyPairs = snapshot.ReadyPairs().Count();
        return
        [
            Count(ResourceRoles.Instance, snapshot.Instances.Select(i => (i.Status, i.IsFree)).ToList(), readyPairs, config.Instances),
            Count(ResourceRoles.Volume, snapshot.Volumes.Select(v => (v.Status, v.IsFree)).ToList(), readyPairs, config.Volumes),
        ];
    }

    private static PoolStatus Count(string role, IReadOnlyList<(string Status, bool IsFree)> rows, int readyPairs, PoolBounds bounds)
    {
        var free = rows.Count(r => r.IsFree);
        var creating = rows.Count(r => r.Status == ResourceStatuses.Creating);
        var deleting = rows.Count(r => r.Status == ResourceStatuses.Deleting);
        return new PoolStatus(role, free, readyPairs, rows.Count - free - creating - deleting, creating, deleting, rows.Count, bounds);
    }
}
