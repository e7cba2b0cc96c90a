namespace Shellbox.Core.Model;

/// <summary>A free instance whose box runs, with a free volume attached that points back at it.</summary>
public sealed record ReadyPair(InstanceRecord Instance, VolumeRecord Volume)
{
    /// <summary>The one definition of a ready pair, shared by pool counts (a snapshot) and claims (an index query).</summary>
    public static bool IsPair(InstanceRecord instance, VolumeRecord? volume) =>
        instance.IsReadyPairHalf && volume is { IsFree: true } && volume.Id == instance.VolumeId && volume.InstanceId == instance.Id;
}
