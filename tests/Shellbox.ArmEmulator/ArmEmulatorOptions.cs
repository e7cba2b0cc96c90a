namespace Shellbox.ArmEmulator;

/// <summary>How the emulator is set up: the one subscription and resource group it models, where disk and
/// snapshot folders live, and how slow it pretends Azure is.</summary>
public sealed class ArmEmulatorOptions
{
    /// <summary>A GUID, as Azure's subscription ids are.</summary>
    public string SubscriptionId { get; init; } = Guid.NewGuid().ToString();

    public string ResourceGroup { get; init; } = "shellbox-rg";

    public string Location { get; init; } = "westeurope";

    /// <summary>The https port on 127.0.0.1; 0 picks a free one.</summary>
    public int Port { get; init; } = 0;

    /// <summary>Where the disk and snapshot folders and the certificate are written.</summary>
    public required string DataDirectory { get; init; }

    public LatencyProfile Latency { get; init; } = LatencyProfile.None;

    /// <summary>How far Resource Graph answers trail writes. Zero with <see cref="LatencyProfile.SeedScaled"/>
    /// means the seed-scaled default (1.2 s: the seed's "up to 2 minutes" divided by 100).</summary>
    public TimeSpan ResourceGraphLag { get; init; } = TimeSpan.Zero;

    /// <summary>Runs something real per VM (an sshd); null models ARM only.</summary>
    public IVmHost? VmHost { get; init; }

    /// <summary>The subscription's VM quota in this region: creating a VM beyond it is refused with 409
    /// OperationNotAllowed, as Azure refuses a create past the regional cores quota. Null = no quota.</summary>
    public int? MaxVirtualMachines { get; init; }

    /// <summary>Items per page of a list call (disks, snapshots) before a nextLink is given.</summary>
    public int ListPageSize { get; init; } = 100;
}

public enum LatencyProfile
{
    /// <summary>Every operation completes as soon as it is accepted.</summary>
    None,

    /// <summary>The seed documents' Azure timings divided by 100: VM and disk writes 0.3-0.6 s, GETs ~10 ms,
    /// Resource Graph lag 1.2 s.</summary>
    SeedScaled,
}
