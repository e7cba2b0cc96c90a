namespace Shellbox.Core.Model;

/// <summary>One consistent read of the pool store.</summary>
public sealed record PoolSnapshot(
    IReadOnlyList<InstanceRecord> Instances,
    IReadOnlyList<VolumeRecord> Volumes,
    IReadOnlyList<BoxRecord> Boxes)
{
    public static PoolSnapshot Empty { get; } = new([], [], []);
}
