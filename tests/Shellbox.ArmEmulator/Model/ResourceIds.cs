namespace Shellbox.ArmEmulator.Model;

/// <summary>Builds and reads the ARM resource ids of the one subscription and resource group modelled.</summary>
internal sealed class ResourceIds(string subscriptionId, string resourceGroup)
{
    public const string VirtualMachineType = "Microsoft.Compute/virtualMachines";
    public const string DiskType = "Microsoft.Compute/disks";
    public const string SnapshotType = "Microsoft.Compute/snapshots";
    public const string NetworkInterfaceType = "Microsoft.Network/networkInterfaces";

    public string SubscriptionId { get; } = subscriptionId;
    public string ResourceGroup { get; } = resourceGroup;

    public string ResourceGroupId => $"/subscriptions/{SubscriptionId}/resourceGroups/{ResourceGroup}";

    public string Of(string type, string name) => $"{ResourceGroupId}/providers/{type}/{name}";

    public string VirtualMachine(string name) => Of(VirtualMachineType, name);
    public string Disk(string name) => Of(DiskType, name);
    public string Snapshot(string name) => Of(SnapshotType, name);
    public string NetworkInterface(string name) => Of(NetworkInterfaceType, name);

    /// <summary>The name in <paramref name="id"/> when it is a resource of <paramref name="type"/> in this
    /// subscription and resource group (ARM compares ids case-insensitively).</summary>
    public bool TryName(string? id, string type, out string name)
    {
        name = "";
        if (string.IsNullOrEmpty(id)) return false;
        var prefix = $"{ResourceGroupId}/providers/{type}/";
        if (!id.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)) return false;
        name = id[prefix.Length..].TrimEnd('/');
        return name.Length > 0 && !name.Contains('/');
    }
}
