using Shellbox.Core.Lifecycle;

namespace Shellbox.Core.Model;

/// <summary>A persistent disk holding one box: its disk, RAM file and device state.</summary>
public sealed record VolumeRecord : StoreRecord
{
    public override string Kind => ResourceRoles.Volume;

    public required string Status { get; init; }

    public required DateTimeOffset Created { get; init; }

    public required DateTimeOffset LastUsed { get; init; }

    /// <summary>The golden snapshot version the volume was cloned from.</summary>
    public required string Golden { get; init; }

    /// <summary>The owner, once the volume is bound to a box; null while it sits in the pool.</summary>
    public string? UserId { get; init; }

    public string? BoxName { get; init; }

    /// <summary>The instance the volume is attached to, if any.</summary>
    public string? InstanceId { get; init; }

    public Lease? Lease { get; init; }

    /// <summary>The volume this one was duplicated from: its files name that volume until its first resume claims them.</summary>
    public string? CopiedFrom { get; init; }

    /// <summary>Set with a transitional status ("creating", "deleting") by the transition that owns the row now.</summary>
    public TransitionMark? Mark { get; init; }

    public bool IsOwned => UserId is not null;

    /// <summary>In the pool: unowned, unclaimed. It may sit attached to a free instance as half of a ready pair.</summary>
    public bool IsFree => Status == ResourceStatuses.Free && !IsOwned && Lease is null;
}
