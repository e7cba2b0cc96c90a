namespace Shellbox.Local.Infrastructure;

/// <summary>golden.json, written last: a golden folder without it is incomplete and never used.</summary>
internal sealed record GoldenMeta
{
    public required string Version { get; init; }

    /// <summary>sha256 of the guest build inputs, as build-golden.sh --print-hash reports it.</summary>
    public required string BuildHash { get; init; }

    public required DateTimeOffset Created { get; init; }

    public required string MachineFingerprint { get; init; }

    public required string MachineDescription { get; init; }

    /// <summary>The kernel command line of the first boot (used again if a box is ever cold-booted).</summary>
    public required string KernelAppend { get; init; }

    /// <summary>The host key the golden presents ("ssh-ed25519 AAAA..."), shared by clones until rekeyed.</summary>
    public required string HostKey { get; init; }

    /// <summary>The guest runs the QEMU guest agent and the golden was suspended with its port (absent in older goldens: false).</summary>
    public bool GuestAgent { get; init; }
}

/// <summary>current.json in the golden folder: the version the last EnsureGoldenSnapshot settled on.</summary>
internal sealed record CurrentGolden(string Version);
