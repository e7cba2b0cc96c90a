using Azure.ResourceManager.Compute.Models;

namespace Shellbox.Azure.Arm;

/// <summary>
/// The one VM PATCH that attaches or detaches a volume and rewrites the instance's tags together (seed
/// 003: one combined update, never a full PUT nor separate tag calls). Both lists replace the VM's.
/// </summary>
internal static class VirtualMachineUpdate
{
    public static VirtualMachinePatch DisksAndTags(IEnumerable<VirtualMachineDataDisk> disks, IReadOnlyDictionary<string, string> tags)
    {
        var patch = new VirtualMachinePatch { StorageProfile = new VirtualMachineStorageProfile() };

        // Clear() marks the list as set: an empty list must still be sent, or the PATCH would leave the disks as they are.
        patch.StorageProfile.DataDisks.Clear();
        foreach (var disk in disks)
        {
            patch.StorageProfile.DataDisks.Add(new VirtualMachineDataDisk(disk.Lun, DiskCreateOptionType.Attach)
            {
                ManagedDisk = new VirtualMachineManagedDisk { Id = disk.ManagedDisk?.Id },
                DeleteOption = disk.DeleteOption ?? DiskDeleteOptionType.Detach,
            });
        }

        patch.Tags.Clear();
        foreach (var (key, value) in tags)
        {
            patch.Tags[key] = value;
        }

        return patch;
    }

    /// <summary>Whether a VM's data disk is the managed disk named <paramref name="diskName"/>.</summary>
    public static bool IsDisk(VirtualMachineDataDisk disk, string diskName) =>
        string.Equals(disk.ManagedDisk?.Id?.Name ?? disk.Name, diskName, StringComparison.OrdinalIgnoreCase);
}
