namespace Shellbox.Azure.Settings;

/// <summary>
/// The `azure` section of shellbox.json (or SHELLBOX_AZURE_* environment variables). Secrets never live
/// here: the table connection string comes only from the environment, and identities from Azure Identity.
/// </summary>
public sealed record AzureProviderSettings
{
    /// <summary>The subscription (a GUID) that holds the resource group.</summary>
    public required string SubscriptionId { get; init; }

    public required string ResourceGroup { get; init; }

    /// <summary>Azure region of every VM, disk and snapshot, e.g. "westeurope".</summary>
    public required string Location { get; init; }

    /// <summary>The ARM id of the subnet the instances' NICs join (.../virtualNetworks/V/subnets/S).</summary>
    public required string SubnetId { get; init; }

    /// <summary>Table Storage endpoint, e.g. https://account.table.core.windows.net; or set SHELLBOX_TABLE_CONNECTION_STRING.</summary>
    public string? TableEndpoint { get; init; }

    /// <summary>The table of pool rows; events go to "&lt;TableName&gt;events".</summary>
    public string TableName { get; init; } = "shellbox";

    public string VmSize { get; init; } = "Standard_D2s_v5";

    /// <summary>Marketplace image as publisher:offer:sku:version.</summary>
    public string Image { get; init; } = "Debian:debian-12:12-gen2:latest";

    public string AdminUsername { get; init; } = "shellbox";

    /// <summary>Default (DefaultAzureCredential), ManagedIdentity, or AzureCli.</summary>
    public string Credential { get; init; } = "Default";

    /// <summary>Client id of a user-assigned managed identity; null for the system-assigned one.</summary>
    public string? ManagedIdentityClientId { get; init; }

    /// <summary>The ARM endpoint; only tests and the demo change it (to the loopback emulator).</summary>
    public string ArmEndpoint { get; init; } = "https://management.azure.com";

    /// <summary>Port of the instances' own sshd (the agent runs behind it).</summary>
    public int InstanceSshPort { get; init; } = 22;

    /// <summary>Port on the instance's private address that forwards to the box's SSH server.</summary>
    public int BoxSshPort { get; init; } = 2222;

    /// <summary>Size of a volume's managed disk (seed 000: 32 GB).</summary>
    public int VolumeSizeGB { get; init; } = 32;

    /// <summary>Storage type of every managed disk (volumes, the golden build, OS disks): Premium_LRS, StandardSSD_LRS, ...</summary>
    public string DiskSku { get; init; } = "Premium_LRS";

    /// <summary>Where cloud-init downloads the agent package from (a blob URL); null when the image already has it.</summary>
    public string? AgentPackageUrl { get; init; }
}
