using System.Text.Json.Nodes;

namespace Shellbox.ArmEmulator.Model;

/// <summary>A resource the emulator holds; mutated only under <see cref="EmulatorState.Gate"/>.</summary>
internal abstract class ResourceModel(string id, string name, string type, string location)
{
    public string Id { get; } = id;
    public string Name { get; } = name;
    public string Type { get; } = type;
    public string Location { get; } = location;
    public Dictionary<string, string> Tags { get; set; } = new(StringComparer.Ordinal);
    public string ProvisioningState { get; set; } = "Succeeded";
    public DateTimeOffset TimeCreated { get; } = DateTimeOffset.UtcNow;

    public string TimeCreatedText => TimeCreated.UtcDateTime.ToString("o", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The operation in flight on this resource (its latency kind), if any: a second write is a 409.</summary>
    public string? ActiveOperation { get; set; }

    public abstract JsonObject Properties();

    public virtual string? ManagedBy => null;

    /// <summary>The resource as ARM returns it from a GET.</summary>
    public virtual JsonObject ToJson()
    {
        var json = new JsonObject
        {
            ["id"] = Id,
            ["name"] = Name,
            ["type"] = Type,
            ["location"] = Location,
            ["tags"] = TagsJson(Tags),
        };
        if (ManagedBy is { } managedBy) json["managedBy"] = managedBy;
        json["properties"] = Properties();
        return json;
    }

    public static JsonObject TagsJson(IReadOnlyDictionary<string, string> tags)
    {
        var json = new JsonObject();
        foreach (var (key, value) in tags) json[key] = value;
        return json;
    }
}

internal sealed record DataDiskAttachment(int Lun, string DiskId, string DiskName, string Caching, string DeleteOption, string CreateOption);

internal sealed record NetworkInterfaceAttachment(string Id, bool Primary, string DeleteOption);

/// <summary>A virtual machine (compute spec: ComputeRP/.../virtualMachine.json, VirtualMachine).</summary>
internal sealed class VirtualMachineModel(string id, string name, string location)
    : ResourceModel(id, name, ResourceIds.VirtualMachineType, location)
{
    public string VmId { get; } = Guid.NewGuid().ToString();
    public JsonObject HardwareProfile { get; set; } = new();
    public JsonObject? ImageReference { get; set; }
    public JsonObject OsProfile { get; set; } = new();
    public string AdminUsername { get; set; } = "";
    public List<string> SshPublicKeys { get; set; } = [];
    public string? CustomData { get; set; }
    public required DataDiskAttachment OsDisk { get; set; }
    public string OsType { get; set; } = "Linux";
    public List<DataDiskAttachment> DataDisks { get; set; } = [];
    public List<NetworkInterfaceAttachment> NetworkInterfaces { get; set; } = [];
    public JsonArray? NetworkInterfaceConfigurations { get; set; }
    public string? NetworkApiVersion { get; set; }
    public string PrivateIp { get; set; } = "";

    public override JsonObject Properties()
    {
        var storage = new JsonObject();
        if (ImageReference is not null) storage["imageReference"] = ImageReference.DeepClone();
        storage["osDisk"] = new JsonObject
        {
            ["osType"] = OsType,
            ["name"] = OsDisk.DiskName,
            ["createOption"] = OsDisk.CreateOption,
            ["caching"] = OsDisk.Caching,
            ["managedDisk"] = new JsonObject { ["storageAccountType"] = "Premium_LRS", ["id"] = OsDisk.DiskId },
            ["deleteOption"] = OsDisk.DeleteOption,
        };
        storage["dataDisks"] = new JsonArray(DataDisks.OrderBy(d => d.Lun).Select(DataDiskJson).ToArray<JsonNode?>());

        var network = new JsonObject
        {
            ["networkInterfaces"] = new JsonArray(NetworkInterfaces.Select(n => (JsonNode?)new JsonObject
            {
                ["id"] = n.Id,
                ["properties"] = new JsonObject { ["primary"] = n.Primary, ["deleteOption"] = n.DeleteOption },
            }).ToArray()),
        };
        if (NetworkApiVersion is not null) network["networkApiVersion"] = NetworkApiVersion;
        if (NetworkInterfaceConfigurations is not null) network["networkInterfaceConfigurations"] = NetworkInterfaceConfigurations.DeepClone();

        // A GET never returns osProfile.customData or adminPassword (they are write-only in the spec).
        var osProfile = (JsonObject)OsProfile.DeepClone();
        osProfile.Remove("customData");
        osProfile.Remove("adminPassword");
        osProfile["secrets"] ??= new JsonArray();

        return new JsonObject
        {
            ["vmId"] = VmId,
            ["hardwareProfile"] = HardwareProfile.DeepClone(),
            ["storageProfile"] = storage,
            ["osProfile"] = osProfile,
            ["networkProfile"] = network,
            ["provisioningState"] = ProvisioningState,
            ["timeCreated"] = TimeCreatedText,
        };
    }

    public JsonObject StorageProfileJson() => (JsonObject)Properties()["storageProfile"]!.DeepClone();

    public static JsonObject DataDiskJson(DataDiskAttachment disk) => new()
    {
        ["lun"] = disk.Lun,
        ["name"] = disk.DiskName,
        ["createOption"] = disk.CreateOption,
        ["caching"] = disk.Caching,
        ["managedDisk"] = new JsonObject { ["storageAccountType"] = "Premium_LRS", ["id"] = disk.DiskId },
        ["deleteOption"] = disk.DeleteOption,
        ["toBeDetached"] = false,
    };
}

/// <summary>A managed disk (compute spec: DiskRP/.../disk.json, Disk); its content is a folder.</summary>
internal sealed class DiskModel(string id, string name, string location, string folder)
    : ResourceModel(id, name, ResourceIds.DiskType, location)
{
    public string UniqueId { get; } = Guid.NewGuid().ToString();
    public string Folder { get; } = folder;
    public int DiskSizeGB { get; set; }
    public JsonObject CreationData { get; set; } = new() { ["createOption"] = "Empty" };
    public string Sku { get; set; } = "Premium_LRS";

    /// <summary>Unattached, Attached, or Reserved (held for a VM while an attach is in flight).</summary>
    public string DiskState { get; set; } = "Unattached";

    public string? AttachedTo { get; set; }

    public override string? ManagedBy => AttachedTo;

    public override JsonObject ToJson()
    {
        var json = base.ToJson();
        json["sku"] = new JsonObject { ["name"] = Sku, ["tier"] = "Premium" };
        return json;
    }

    public override JsonObject Properties() => new()
    {
        ["osType"] = null,
        ["creationData"] = CreationData.DeepClone(),
        ["diskSizeGB"] = DiskSizeGB,
        ["diskSizeBytes"] = (long)DiskSizeGB * 1024 * 1024 * 1024,
        ["uniqueId"] = UniqueId,
        ["provisioningState"] = ProvisioningState,
        ["timeCreated"] = TimeCreatedText,
        ["diskState"] = DiskState,
        ["networkAccessPolicy"] = "AllowAll",
        ["publicNetworkAccess"] = "Enabled",
    };
}

/// <summary>A snapshot (compute spec: DiskRP/.../snapshot.json, Snapshot); its content is a folder.</summary>
internal sealed class SnapshotModel(string id, string name, string location, string folder)
    : ResourceModel(id, name, ResourceIds.SnapshotType, location)
{
    public string UniqueId { get; } = Guid.NewGuid().ToString();
    public string Folder { get; } = folder;
    public int DiskSizeGB { get; set; }
    public bool Incremental { get; set; }
    public JsonObject CreationData { get; set; } = new();

    public override JsonObject ToJson()
    {
        var json = base.ToJson();
        json["sku"] = new JsonObject { ["name"] = "Standard_LRS", ["tier"] = "Standard" };
        return json;
    }

    public override JsonObject Properties() => new()
    {
        ["creationData"] = CreationData.DeepClone(),
        ["diskSizeGB"] = DiskSizeGB,
        ["diskSizeBytes"] = (long)DiskSizeGB * 1024 * 1024 * 1024,
        ["incremental"] = Incremental,
        ["uniqueId"] = UniqueId,
        ["provisioningState"] = ProvisioningState,
        ["timeCreated"] = TimeCreatedText,
        ["diskState"] = "Unattached",
    };
}

/// <summary>A network interface (network spec: networkInterface.json, NetworkInterface); its private IP is
/// the VM's loopback address.</summary>
internal sealed class NetworkInterfaceModel(string id, string name, string location, string privateIp)
    : ResourceModel(id, name, ResourceIds.NetworkInterfaceType, location)
{
    public string PrivateIp { get; } = privateIp;
    public string IpConfigurationName { get; set; } = "ipconfig1";
    public JsonObject? Subnet { get; set; }
    public string? VirtualMachineId { get; set; }

    public override JsonObject Properties()
    {
        var ipProperties = new JsonObject
        {
            ["privateIPAddress"] = PrivateIp,
            ["privateIPAllocationMethod"] = "Dynamic",
            ["privateIPAddressVersion"] = "IPv4",
            ["primary"] = true,
            ["provisioningState"] = "Succeeded",
        };
        if (Subnet is not null) ipProperties["subnet"] = Subnet.DeepClone();
        var properties = new JsonObject
        {
            ["provisioningState"] = ProvisioningState,
            ["ipConfigurations"] = new JsonArray(new JsonObject
            {
                ["name"] = IpConfigurationName,
                ["id"] = $"{Id}/ipConfigurations/{IpConfigurationName}",
                ["properties"] = ipProperties,
            }),
            ["primary"] = true,
        };
        if (VirtualMachineId is not null) properties["virtualMachine"] = new JsonObject { ["id"] = VirtualMachineId };
        return properties;
    }
}
