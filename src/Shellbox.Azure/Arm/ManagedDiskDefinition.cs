using Azure.Core;
using Azure.ResourceManager.Compute;
using Azure.ResourceManager.Compute.Models;
using Shellbox.Azure.Settings;

namespace Shellbox.Azure.Arm;

/// <summary>The managed disks the provider makes: a volume cloned from the golden snapshot, or an empty build disk. Tags travel in the create call.</summary>
internal static class ManagedDiskDefinition
{
    /// <summary>A full copy of the snapshot (createOption Copy), sized as every volume is.</summary>
    public static ManagedDiskData CloneOf(AzureProviderSettings settings, ResourceIdentifier snapshotId, IReadOnlyDictionary<string, string> tags) =>
        Build(settings, new DiskCreationData(DiskCreateOption.Copy) { SourceResourceId = snapshotId }, tags);

    /// <summary>An unformatted disk (the instance's init script formats a disk that holds no filesystem).</summary>
    public static ManagedDiskData Empty(AzureProviderSettings settings, IReadOnlyDictionary<string, string> tags) =>
        Build(settings, new DiskCreationData(DiskCreateOption.Empty), tags);

    private static ManagedDiskData Build(AzureProviderSettings settings, DiskCreationData creation, IReadOnlyDictionary<string, string> tags)
    {
        var data = new ManagedDiskData(new AzureLocation(settings.Location))
        {
            Sku = new DiskSku { Name = new DiskStorageAccountType(settings.DiskSku) },
            CreationData = creation,
            DiskSizeGB = settings.VolumeSizeGB,
        };
        foreach (var (key, value) in tags)
        {
            data.Tags[key] = value;
        }

        return data;
    }
}
