using Shellbox.Core.Lifecycle;

namespace Shellbox.Core.Model;

/// <summary>A host that runs one box at a time: an Azure VM, or a slot on this machine.</summary>
public sealed record InstanceRecord : StoreRecord
{
    public override string Kind => ResourceRoles.Instance;

    public required string Status { get; init; }

    public required DateTimeOffset Created { get; init; }

    public required DateTimeOffset LastUsed { get; init; }

    /// <summary>The volume attached to this instance, if any (a ready pair when the instance is free).</summary>
    public string? VolumeId { get; init; }

    /// <summary>Where the box on this instance answers SSH once resumed, e.g. "127.0.0.1:22001".</summary>
    public string? Endpoint { get; init; }

    /// <summary>The instance's own SSH host key (OpenSSH public key form), pinned at creation; null on Local.</summary>
    public string? HostKey { get; init; }

    /// <summary>True while the attached volume's box is running (resumed).</summary>
    public bool BoxRunning { get; init; }

    public Lease? Lease { get; init; }

    /// <summary>Set with a transitional status ("creating", "deleting") by the transition that owns the row now.</summary>
    public TransitionMark? Mark { get; init; }

    public bool IsFree => Status == ResourceStatuses.Free && Lease is null;

    public bool IsReadyPairHalf => IsFree && VolumeId is not null && BoxRunning;
}
