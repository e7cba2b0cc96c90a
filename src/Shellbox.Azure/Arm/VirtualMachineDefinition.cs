using Azure.Core;
using Azure.ResourceManager.Compute;
using Azure.ResourceManager.Compute.Models;
using Shellbox.Azure.Settings;
using Shellbox.Core.Errors;

namespace Shellbox.Azure.Arm;

/// <summary>
/// The VM an instance is: the settings' size and image, SSH-key login for the admin user, cloud-init as
/// custom data, and a NIC and OS disk created with it and deleted with it (deleteOption Delete), so a VM
/// delete leaves nothing behind. Tags travel in the create call itself.
/// </summary>
internal static class VirtualMachineDefinition
{
    /// <summary>The NIC API version that lets a VM create its NIC from networkInterfaceConfigurations.</summary>
    private static readonly NetworkApiVersion NicFromVm = NetworkApiVersion.TwoThousandTwenty1101;

    public static VirtualMachineData Build(
        AzureProviderSettings settings,
        string name,
        IReadOnlyDictionary<string, string> tags,
        string customDataBase64,
        string adminPublicKey,
        ResourceIdentifier? dataDiskLun0 = null)
    {
        var data = new VirtualMachineData(new AzureLocation(settings.Location))
        {
            HardwareProfile = new VirtualMachineHardwareProfile { VmSize = new VirtualMachineSizeType(settings.VmSize) },
            StorageProfile = new VirtualMachineStorageProfile
            {
                ImageReference = Image(settings.Image),
                OSDisk = new VirtualMachineOSDisk(DiskCreateOptionType.FromImage)
                {
                    Name = $"{name}-os",
                    DeleteOption = DiskDeleteOptionType.Delete,
                    ManagedDisk = new VirtualMachineManagedDisk { StorageAccountType = new StorageAccountType(settings.DiskSku) },
                },
            },
            OSProfile = new VirtualMachineOSProfile
            {
                ComputerName = name,
                AdminUsername = settings.AdminUsername,
                CustomData = customDataBase64,
                LinuxConfiguration = new LinuxConfiguration
                {
                    DisablePasswordAuthentication = true,
                    SshPublicKeys =
                    {
                        new SshPublicKeyConfiguration { Path = $"/home/{settings.AdminUsername}/.ssh/authorized_keys", KeyData = adminPublicKey },
                    },
                },
            },
            NetworkProfile = new VirtualMachineNetworkProfile
            {
                NetworkApiVersion = NicFromVm,
                NetworkInterfaceConfigurations =
                {
                    new VirtualMachineNetworkInterfaceConfiguration($"{name}-nic")
                    {
                        Primary = true,
                        DeleteOption = ComputeDeleteOption.Delete,
                        IPConfigurations =
                        {
                            new VirtualMachineNetworkInterfaceIPConfiguration("ipconfig1") { Primary = true, SubnetId = new ResourceIdentifier(settings.SubnetId) },
                        },
                    },
                },
            },
        };
        foreach (var (key, value) in tags)
        {
            data.Tags[key] = value;
        }

        if (dataDiskLun0 is not null)
        {
            data.StorageProfile.DataDisks.Add(DataDisk(dataDiskLun0));
        }

        return data;
    }

    /// <summary>A managed disk at LUN 0 (one box per instance); Detach on VM delete: a volume outlives its instance.</summary>
    public static VirtualMachineDataDisk DataDisk(ResourceIdentifier diskId) => new(0, DiskCreateOptionType.Attach)
    {
        ManagedDisk = new VirtualMachineManagedDisk { Id = diskId },
        DeleteOption = DiskDeleteOptionType.Detach,
    };

    /// <summary>publisher:offer:sku:version (the az CLI's URN form).</summary>
    public static ImageReference Image(string urn)
    {
        var parts = urn.Split(':');
        if (parts.Length != 4 || parts.Any(string.IsNullOrWhiteSpace))
        {
            throw ShellboxException.User("AzureImageInvalid", $"The image '{urn}' is not publisher:offer:sku:version, e.g. Debian:debian-12:12-gen2:latest.");
        }

        return new ImageReference { Publisher = parts[0], Offer = parts[1], Sku = parts[2], Version = parts[3] };
    }
}
