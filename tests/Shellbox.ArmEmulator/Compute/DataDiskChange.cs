using System.Text.Json.Nodes;
using Shellbox.ArmEmulator.Arm;
using Shellbox.ArmEmulator.Model;
using Shellbox.ArmEmulator.Storage;

namespace Shellbox.ArmEmulator.Compute;

/// <summary>A data disk a request wants on a VM: an existing disk to attach, or a new empty one.</summary>
internal sealed record DesiredDataDisk(int Lun, string CreateOption, string? DiskId, string? Name, int? DiskSizeGB, string Caching, string DeleteOption);

/// <summary>The disks an accepted VM write attaches and detaches; applied to the disks when it completes.</summary>
internal sealed record DataDiskChange(IReadOnlyList<DiskModel> Attaching, IReadOnlyList<DiskModel> Detaching)
{
    public bool IsEmpty => Attaching.Count == 0 && Detaching.Count == 0;

    /// <summary>Reads storageProfile.dataDisks (compute spec: DataDisk): entries marked toBeDetached are left out,
    /// as ARM detaches them.</summary>
    public static IReadOnlyList<DesiredDataDisk> Parse(JsonArray dataDisks)
    {
        var desired = new List<DesiredDataDisk>();
        foreach (var node in dataDisks)
        {
            if (node is not JsonObject disk) throw ArmException.BadRequest("Each data disk must be an object.");
            if (disk["toBeDetached"]?.GetValue<bool>() == true) continue;
            var lun = disk["lun"]?.GetValue<int>() ?? throw ArmException.BadRequest("Required parameter 'dataDisk.lun' is missing (null).", "PropertyChangeNotAllowed");
            desired.Add(new DesiredDataDisk(
                lun,
                disk["createOption"]?.GetValue<string>() ?? "Attach",
                disk["managedDisk"]?["id"]?.GetValue<string>(),
                disk["name"]?.GetValue<string>(),
                disk["diskSizeGB"]?.GetValue<int>(),
                disk["caching"]?.GetValue<string>() ?? "None",
                disk["deleteOption"]?.GetValue<string>() ?? "Detach"));
        }
        return desired;
    }

    /// <summary>Validates <paramref name="desired"/> against the state, then makes it the VM's data disk list:
    /// new disks are reserved for the VM now, left-out disks stay held until the operation completes.
    /// Call under the state gate; throws before changing anything when the request is invalid.</summary>
    public static DataDiskChange Apply(EmulatorContext context, VirtualMachineModel vm, IReadOnlyList<DesiredDataDisk> desired)
    {
        var state = context.State;
        var luns = new HashSet<int>();
        var resolved = new List<(DesiredDataDisk Want, DiskModel? Disk)>();
        foreach (var want in desired)
        {
            if (want.Lun is < 0 or > 63) throw ArmException.BadRequest($"Lun {want.Lun} is out of range 0-63.", "InvalidParameter");
            if (!luns.Add(want.Lun)) throw ArmException.BadRequest($"Two data disks use lun {want.Lun}.", "InvalidParameter");
            // A disk the VM already has, sent back as a GET shows it (any createOption): it stays.
            var current = vm.DataDisks.FirstOrDefault(d => d.Lun == want.Lun
                && (want.DiskId is null || string.Equals(d.DiskId, want.DiskId, StringComparison.OrdinalIgnoreCase))
                && (want.Name is null || string.Equals(d.DiskName, want.Name, StringComparison.OrdinalIgnoreCase)));
            if (current is not null && state.DiskModels.TryGetValue(current.DiskName, out var keptDisk))
            {
                resolved.Add((want with { CreateOption = current.CreateOption }, keptDisk));
                continue;
            }
            if (string.Equals(want.CreateOption, "Empty", StringComparison.OrdinalIgnoreCase))
            {
                var name = want.Name ?? $"{vm.Name}_lun_{want.Lun}_{Guid.NewGuid():N}";
                FolderStore.RequireValidName(name, "disk");
                if (state.DiskModels.ContainsKey(name)) throw ArmException.Conflict($"A disk named '{name}' already exists.", "ConflictingDiskName");
                if (want.DiskSizeGB is not > 0) throw ArmException.BadRequest("An empty data disk needs diskSizeGB.", "InvalidParameter");
                resolved.Add((want, null));
                continue;
            }
            if (!string.Equals(want.CreateOption, "Attach", StringComparison.OrdinalIgnoreCase))
                throw ArmException.BadRequest($"Data disk createOption '{want.CreateOption}' is not modelled; use Attach or Empty.", "InvalidParameter");
            var diskId = want.DiskId ?? vm.DataDisks.FirstOrDefault(d => string.Equals(d.DiskName, want.Name, StringComparison.OrdinalIgnoreCase))?.DiskId;
            if (!context.Ids.TryName(diskId, ResourceIds.DiskType, out var diskName) || !state.DiskModels.TryGetValue(diskName, out var disk))
                throw ArmException.NotFound($"Disk '{diskId ?? want.Name}' was not found.", "NotFound");
            var onThisVm = string.Equals(disk.AttachedTo, vm.Id, StringComparison.OrdinalIgnoreCase);
            if (disk.AttachedTo is not null && !onThisVm)
                throw ArmException.Conflict($"Disk '{disk.Name}' is already attached to '{disk.AttachedTo}'.", "OperationNotAllowed");
            if (disk.ActiveOperation is not null) throw EmulatorContext.InFlight(disk);
            if (onThisVm && !vm.DataDisks.Any(d => string.Equals(d.DiskName, disk.Name, StringComparison.OrdinalIgnoreCase)))
                throw ArmException.BadRequest($"Disk '{disk.Name}' is this VM's OS disk.", "InvalidParameter");
            resolved.Add((want, disk));
        }
        if (resolved.Where(r => r.Disk is not null).GroupBy(r => r.Disk!.Name, StringComparer.OrdinalIgnoreCase).Any(g => g.Count() > 1))
            throw ArmException.BadRequest("The same disk is listed twice.", "InvalidParameter");

        var attaching = new List<DiskModel>();
        var attachments = new List<DataDiskAttachment>();
        foreach (var (want, existing) in resolved)
        {
            var disk = existing;
            if (disk is null)
            {
                var name = want.Name ?? $"{vm.Name}_lun_{want.Lun}_{Guid.NewGuid():N}";
                var folder = context.Folders.DiskFolder(name);
                FolderStore.CreateEmpty(folder);
                disk = new DiskModel(context.Ids.Disk(name), name, vm.Location, folder) { DiskSizeGB = want.DiskSizeGB!.Value };
                state.DiskModels[name] = disk;
            }
            if (!string.Equals(disk.AttachedTo, vm.Id, StringComparison.OrdinalIgnoreCase))
            {
                disk.AttachedTo = vm.Id;
                disk.DiskState = "Reserved";
                attaching.Add(disk);
                state.Changed(disk);
            }
            attachments.Add(new DataDiskAttachment(want.Lun, disk.Id, disk.Name, want.Caching,
                want.DeleteOption, string.Equals(want.CreateOption, "Empty", StringComparison.OrdinalIgnoreCase) ? "Empty" : "Attach"));
        }
        var kept = attachments.Select(a => a.DiskName).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var detaching = vm.DataDisks.Where(d => !kept.Contains(d.DiskName))
            .Select(d => state.DiskModels.GetValueOrDefault(d.DiskName)).OfType<DiskModel>().ToList();
        vm.DataDisks = attachments;
        return new DataDiskChange(attaching, detaching);
    }

    /// <summary>The operation completed: attached disks are Attached, detached ones free. Call under the gate.</summary>
    public void Complete(EmulatorState state)
    {
        foreach (var disk in Attaching.Where(d => state.DiskModels.ContainsKey(d.Name)))
        {
            disk.DiskState = "Attached";
            state.Changed(disk);
        }
        foreach (var disk in Detaching.Where(d => state.DiskModels.ContainsKey(d.Name)))
        {
            disk.AttachedTo = null;
            disk.DiskState = "Unattached";
            state.Changed(disk);
        }
    }

    /// <summary>The operation failed after acceptance: disks reserved for it are released and left-out disks
    /// are detached. Call under the gate.</summary>
    public void Abandon(EmulatorState state, VirtualMachineModel vm)
    {
        foreach (var disk in Attaching)
        {
            disk.AttachedTo = null;
            disk.DiskState = "Unattached";
            vm.DataDisks.RemoveAll(d => string.Equals(d.DiskName, disk.Name, StringComparison.OrdinalIgnoreCase));
            state.Changed(disk);
        }
        foreach (var disk in Detaching.Where(d => state.DiskModels.ContainsKey(d.Name)))
        {
            disk.AttachedTo = null;
            disk.DiskState = "Unattached";
            state.Changed(disk);
        }
    }
}
