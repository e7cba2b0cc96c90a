using System.Text.Json.Nodes;
using Shellbox.ArmEmulator.Graph;
using Shellbox.ArmEmulator.Model;

namespace Shellbox.ArmEmulator;

/// <summary>What the emulator holds, with read-only views for test assertions. All mutation happens under
/// <see cref="Gate"/>; every change is also recorded in the Resource Graph history.</summary>
public sealed class EmulatorState
{
    private readonly ResourceGraphHistory _history;
    private int _nextAddress;

    internal EmulatorState(ResourceIds ids, ResourceGraphHistory history)
    {
        Ids = ids;
        _history = history;
    }

    internal object Gate { get; } = new();
    internal ResourceIds Ids { get; }
    internal Dictionary<string, VirtualMachineModel> VmModels { get; } = new(StringComparer.OrdinalIgnoreCase);
    internal Dictionary<string, DiskModel> DiskModels { get; } = new(StringComparer.OrdinalIgnoreCase);
    internal Dictionary<string, SnapshotModel> SnapshotModels { get; } = new(StringComparer.OrdinalIgnoreCase);
    internal Dictionary<string, NetworkInterfaceModel> NicModels { get; } = new(StringComparer.OrdinalIgnoreCase);

    public IReadOnlyList<VirtualMachineView> VirtualMachines
    {
        get { lock (Gate) return VmModels.Values.OrderBy(v => v.Name, StringComparer.Ordinal).Select(View).ToArray(); }
    }

    public IReadOnlyList<DiskView> Disks
    {
        get { lock (Gate) return DiskModels.Values.OrderBy(d => d.Name, StringComparer.Ordinal).Select(View).ToArray(); }
    }

    public IReadOnlyList<SnapshotView> Snapshots
    {
        get { lock (Gate) return SnapshotModels.Values.OrderBy(s => s.Name, StringComparer.Ordinal).Select(View).ToArray(); }
    }

    public IReadOnlyList<NetworkInterfaceView> NetworkInterfaces
    {
        get { lock (Gate) return NicModels.Values.OrderBy(n => n.Name, StringComparer.Ordinal).Select(View).ToArray(); }
    }

    public VirtualMachineView? FindVirtualMachine(string name)
    {
        lock (Gate) return VmModels.TryGetValue(name, out var vm) ? View(vm) : null;
    }

    public DiskView? FindDisk(string name)
    {
        lock (Gate) return DiskModels.TryGetValue(name, out var disk) ? View(disk) : null;
    }

    public SnapshotView? FindSnapshot(string name)
    {
        lock (Gate) return SnapshotModels.TryGetValue(name, out var snapshot) ? View(snapshot) : null;
    }

    public NetworkInterfaceView? FindNetworkInterface(string name)
    {
        lock (Gate) return NicModels.TryGetValue(name, out var nic) ? View(nic) : null;
    }

    /// <summary>Records the resource's current shape for Resource Graph; call under the gate after each change.</summary>
    internal void Changed(ResourceModel resource) => _history.Record(resource.Id, GraphRow(resource));

    internal void Removed(ResourceModel resource) => _history.Record(resource.Id, null);

    /// <summary>A distinct loopback address per VM: 127.0.1.1, 127.0.1.2, ... then 127.0.2.1, ...</summary>
    internal string AllocatePrivateIp()
    {
        var n = _nextAddress++;
        return $"127.0.{1 + n / 254 % 254}.{1 + n % 254}";
    }

    private JsonObject GraphRow(ResourceModel resource)
    {
        var json = resource.ToJson();
        // Resource Graph's Resources table: lower-case type, the resource group and subscription as columns.
        return new JsonObject
        {
            ["id"] = resource.Id,
            ["name"] = resource.Name,
            ["type"] = resource.Type.ToLowerInvariant(),
            ["tenantId"] = "",
            ["kind"] = "",
            ["location"] = resource.Location,
            ["resourceGroup"] = Ids.ResourceGroup.ToLowerInvariant(),
            ["subscriptionId"] = Ids.SubscriptionId,
            ["managedBy"] = resource.ManagedBy ?? "",
            ["sku"] = json["sku"]?.DeepClone(),
            ["properties"] = json["properties"]!.DeepClone(),
            ["tags"] = ResourceModel.TagsJson(resource.Tags),
        };
    }

    private static VirtualMachineView View(VirtualMachineModel vm) => new(
        vm.Name, vm.Id, vm.ProvisioningState, new Dictionary<string, string>(vm.Tags),
        vm.DataDisks.ToDictionary(d => d.Lun, d => d.DiskName),
        vm.NetworkInterfaces.Select(n => n.Id[(n.Id.LastIndexOf('/') + 1)..]).FirstOrDefault(),
        vm.PrivateIp, vm.OsDisk.DiskName, vm.AdminUsername, vm.CustomData);

    private static DiskView View(DiskModel disk) => new(
        disk.Name, disk.Id, disk.ProvisioningState, new Dictionary<string, string>(disk.Tags), disk.DiskState,
        disk.AttachedTo, disk.Folder, disk.DiskSizeGB,
        disk.CreationData["createOption"]?.GetValue<string>(), disk.CreationData["sourceResourceId"]?.GetValue<string>());

    private static SnapshotView View(SnapshotModel snapshot) => new(
        snapshot.Name, snapshot.Id, snapshot.ProvisioningState, new Dictionary<string, string>(snapshot.Tags), snapshot.Folder,
        snapshot.CreationData["sourceResourceId"]?.GetValue<string>(), snapshot.Incremental);

    private static NetworkInterfaceView View(NetworkInterfaceModel nic) => new(nic.Name, nic.Id, nic.PrivateIp, nic.VirtualMachineId);
}

public sealed record VirtualMachineView(
    string Name, string Id, string ProvisioningState, IReadOnlyDictionary<string, string> Tags,
    IReadOnlyDictionary<int, string> DataDiskNamesByLun, string? NetworkInterfaceName, string PrivateIp, string OsDiskName,
    string AdminUsername, string? CustomData);

public sealed record DiskView(
    string Name, string Id, string ProvisioningState, IReadOnlyDictionary<string, string> Tags, string DiskState,
    string? ManagedBy, string Folder, int DiskSizeGB, string? CreateOption = null, string? SourceResourceId = null);

public sealed record SnapshotView(
    string Name, string Id, string ProvisioningState, IReadOnlyDictionary<string, string> Tags, string Folder,
    string? SourceResourceId, bool Incremental);

public sealed record NetworkInterfaceView(string Name, string Id, string PrivateIp, string? VirtualMachineId);
