using Azure.Core;
using Azure.ResourceManager.Compute;
using Azure.ResourceManager.Compute.Models;
using Azure.ResourceManager.Resources.Models;

namespace Shellbox.ArmEmulator.Tests;

/// <summary>Request models built the way the Azure provider builds them with Compute 1.2.0.</summary>
internal static class ArmModels
{
    public const string SshKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTheEmulatorTestsOnly test@shellbox";

    public static VirtualMachineData Vm(EmulatorSession session, string name, IDictionary<string, string>? tags = null, string? customData = null,
        string nicDeleteOption = "Delete", string osDiskDeleteOption = "Delete")
    {
        var data = new VirtualMachineData(new AzureLocation(session.Server.Location))
        {
            HardwareProfile = new VirtualMachineHardwareProfile { VmSize = VirtualMachineSizeType.StandardD2SV3 },
            StorageProfile = new VirtualMachineStorageProfile
            {
                ImageReference = new ImageReference { Publisher = "Debian", Offer = "debian-12", Sku = "12-gen2", Version = "latest" },
                OSDisk = new VirtualMachineOSDisk(DiskCreateOptionType.FromImage)
                {
                    Name = $"{name}-os",
                    DeleteOption = new DiskDeleteOptionType(osDiskDeleteOption),
                    ManagedDisk = new VirtualMachineManagedDisk { StorageAccountType = StorageAccountType.PremiumLrs },
                },
            },
            OSProfile = new VirtualMachineOSProfile
            {
                ComputerName = name,
                AdminUsername = "shellbox",
                CustomData = customData,
                LinuxConfiguration = new LinuxConfiguration
                {
                    DisablePasswordAuthentication = true,
                    SshPublicKeys = { new SshPublicKeyConfiguration { Path = "/home/shellbox/.ssh/authorized_keys", KeyData = SshKey } },
                },
            },
            NetworkProfile = new VirtualMachineNetworkProfile
            {
                NetworkApiVersion = NetworkApiVersion.TwoThousandTwenty1101,
                NetworkInterfaceConfigurations =
                {
                    new VirtualMachineNetworkInterfaceConfiguration($"{name}-nic")
                    {
                        Primary = true,
                        DeleteOption = new ComputeDeleteOption(nicDeleteOption),
                        IPConfigurations =
                        {
                            new VirtualMachineNetworkInterfaceIPConfiguration("ipconfig1")
                            {
                                SubnetId = new ResourceIdentifier($"/subscriptions/{session.Server.SubscriptionId}/resourceGroups/{session.Server.ResourceGroup}/providers/Microsoft.Network/virtualNetworks/vnet/subnets/default"),
                            },
                        },
                    },
                },
            },
        };
        foreach (var (key, value) in tags ?? new Dictionary<string, string>()) data.Tags[key] = value;
        return data;
    }

    public static ManagedDiskData EmptyDisk(EmulatorSession session, int sizeGB = 32, IDictionary<string, string>? tags = null)
    {
        var data = new ManagedDiskData(new AzureLocation(session.Server.Location))
        {
            CreationData = new DiskCreationData(DiskCreateOption.Empty),
            DiskSizeGB = sizeGB,
            Sku = new DiskSku { Name = DiskStorageAccountType.PremiumLrs },
        };
        foreach (var (key, value) in tags ?? new Dictionary<string, string>()) data.Tags[key] = value;
        return data;
    }

    public static VirtualMachineDataDisk Attach(int lun, ResourceIdentifier diskId) =>
        new(lun, DiskCreateOptionType.Attach) { ManagedDisk = new VirtualMachineManagedDisk { Id = diskId } };
}
