namespace Shellbox.Local.Infrastructure;

/// <summary>meta.json: what a volume is, whose it is, and which QEMU machine wrote its saved state.</summary>
internal sealed record VolumeMeta
{
    public required string VolumeId { get; init; }

    public required string Golden { get; init; }

    /// <summary>The golden folder: its disk backs box.qcow2, its kernel boots the box.</summary>
    public required string GoldenLocation { get; init; }

    public required DateTimeOffset Created { get; init; }

    /// <summary>The owner, once an attach names one; a volume with an owner is never deleted.</summary>
    public string? UserId { get; init; }

    public string? BoxName { get; init; }

    /// <summary>Fingerprint of the machine arguments that wrote ram.img and device.state.</summary>
    public required string MachineFingerprint { get; init; }

    /// <summary>Those arguments in words, to say what differs when a resume is refused.</summary>
    public required string MachineDescription { get; init; }

    /// <summary>
    /// The box's machine has the guest agent's port (its golden's did): the clock and hostname of a resume are set
    /// through it. Absent in volumes made before: false, and they resume on the machine they were saved with.
    /// </summary>
    public bool GuestAgent { get; init; }

    /// <summary>The golden's host key ("ssh-ed25519 AAAA..."): what a clone presents before its first rekey.</summary>
    public required string GoldenHostKey { get; init; }

    /// <summary>The box's own host key, pinned at its first resume; every later connection must present it.</summary>
    public string? HostKey { get; init; }

    public DateTimeOffset? LastResumed { get; init; }

    /// <summary>
    /// True while the volume's RAM is still the golden's, not yet copied: a new volume takes no room for it
    /// until its first resume copies it (off the critical path: pairing resumes a box before anyone claims it).
    /// </summary>
    public bool RamInGolden { get; init; }

    /// <summary>The box name the guest last took as its hostname.</summary>
    public string? Hostname { get; init; }

    public DateTimeOffset? LastSuspended { get; init; }

    /// <summary>The tags given at create.</summary>
    public Dictionary<string, string> Tags { get; init; } = [];
}
