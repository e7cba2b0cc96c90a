namespace Shellbox.Core.Model;

/// <summary>One consistent read of the pool store.</summary>
public sealed record PoolSnapshot(
    IReadOnlyList<InstanceRecord> Instances,
    IReadOnlyList<VolumeRecord> Volumes,
    IReadOnlyList<BoxRecord> Boxes)
{
    public static PoolSnapshot Empty { get; } = new([], [], []);

    /// <summary>
    /// The ready pairs, oldest-used first: a free instance whose box runs with a free volume attached that
    /// points back at it. The one definition the pool counts, connects and spinups share.
    /// </summary>
    public IEnumerable<(InstanceRecord Instance, VolumeRecord Volume)> ReadyPairs() =>
        Instances.Where(i => i.IsReadyPairHalf).OrderBy(i => i.LastUsed)
            .Select(i => (Instance: i, Volume: Volumes.FirstOrDefault(v => v.Id == i.VolumeId && v.IsFree && v.InstanceId == i.Id)))
            .Where(p => p.Volume is not null)
            .Select(p => (p.Instance, p.Volume!));
}
