namespace Shellbox.Core.Model;

/// <summary>One consistent read of the pool store (reconcile and pool counts; connects never read one).</summary>
public sealed record PoolSnapshot(
    IReadOnlyList<InstanceRecord> Instances,
    IReadOnlyList<VolumeRecord> Volumes,
    IReadOnlyList<BoxRecord> Boxes)
{
    public static PoolSnapshot Empty { get; } = new([], [], []);

    /// <summary>The ready pairs (<see cref="ReadyPair.IsPair"/>), oldest-used first.</summary>
    public IEnumerable<ReadyPair> ReadyPairs() =>
        Instances.Where(i => i.IsReadyPairHalf).OrderBy(i => i.LastUsed)
            .Select(i => (Instance: i, Volume: Volumes.FirstOrDefault(v => v.Id == i.VolumeId)))
            .Where(p => ReadyPair.IsPair(p.Instance, p.Volume))
            .Select(p => new ReadyPair(p.Instance, p.Volume!));
}
