using Azure;
using Azure.ResourceManager.Compute;
using Azure.ResourceManager.Compute.Models;
using Azure.ResourceManager.Resources;
using Shellbox.Azure.Arm;
using Shellbox.Core.Model;

namespace Shellbox.AzureBench;

/// <summary>
/// Seed 003's "Current Flow Breakdown", step by step, through the same SDK: two Resource Graph queries, then
/// UpdateInstanceStatusAndUser (GET VM, PUT VM with new tags, wait for Resource Graph to show them),
/// UpdateVolumeStatusUserAndBox (GET disk, PUT disk with new tags, wait for Resource Graph), and
/// AttachVolumeToInstance (GET VM, PUT VM with the data disk). This is what Shellbox replaces.
/// </summary>
/// <remarks>Long operations are polled every <paramref name="pollInterval"/>, the same interval Shellbox's flow uses.</remarks>
internal sealed class SeedConnectFlow(ResourceGroupResource group, ResourceGraphQueries graph, TimeSpan pollInterval)
{
    private static readonly TimeSpan GraphPoll = TimeSpan.FromMilliseconds(50);

    public async Task ConnectAsync(string instanceName, string diskName, string userId, string boxName, CancellationToken cancellationToken)
    {
        // 1. Resource queries: the user's volume, and the free instances.
        await graph.ListAsync(ResourceRoles.Volume, cancellationToken);
        await graph.OldestFreeAsync(ResourceRoles.Instance, cancellationToken);

        // 2. UpdateInstanceStatusAndUser.
        var now = DateTimeOffset.UtcNow.ToString("O");
        var vm = (await group.GetVirtualMachineAsync(instanceName, cancellationToken: cancellationToken)).Value.Data;
        vm.Tags[TagKeys.Status] = ResourceStatuses.Connected;
        vm.Tags[TagKeys.LastUsed] = now;
        vm.Tags[TagKeys.UserId] = userId;
        await (await group.GetVirtualMachines().CreateOrUpdateAsync(WaitUntil.Started, instanceName, vm, cancellationToken: cancellationToken)).WaitForCompletionAsync(pollInterval, cancellationToken);
        await WaitForGraphAsync(ResourceRoles.Instance, instanceName, TagKeys.Status, ResourceStatuses.Connected, cancellationToken);

        // 3. UpdateVolumeStatusUserAndBox.
        var disk = (await group.GetManagedDiskAsync(diskName, cancellationToken)).Value.Data;
        disk.Tags[TagKeys.Status] = ResourceStatuses.Attached;
        disk.Tags[TagKeys.LastUsed] = now;
        disk.Tags[TagKeys.UserId] = userId;
        disk.Tags[TagKeys.BoxName] = boxName;
        await (await group.GetManagedDisks().CreateOrUpdateAsync(WaitUntil.Started, diskName, disk, cancellationToken)).WaitForCompletionAsync(pollInterval, cancellationToken);
        await WaitForGraphAsync(ResourceRoles.Volume, diskName, TagKeys.Status, ResourceStatuses.Attached, cancellationToken);

        // 4. AttachVolumeToInstance.
        var current = (await group.GetVirtualMachineAsync(instanceName, cancellationToken: cancellationToken)).Value;
        var data = current.Data;
        data.StorageProfile.DataDisks.Add(new VirtualMachineDataDisk(0, DiskCreateOptionType.Attach) { ManagedDisk = new VirtualMachineManagedDisk { Id = current.Id.Parent!.AppendProviderResource("Microsoft.Compute", "disks", diskName) } });
        await (await group.GetVirtualMachines().CreateOrUpdateAsync(WaitUntil.Started, instanceName, data, cancellationToken: cancellationToken)).WaitForCompletionAsync(pollInterval, cancellationToken);
    }

    /// <summary>Seed 003: "Wait for Resource Graph sync: up to 2 minutes" (here: until the tag shows).</summary>
    private async Task WaitForGraphAsync(string role, string name, string tag, string value, CancellationToken cancellationToken)
    {
        while (true)
        {
            var items = await graph.ListAsync(role, cancellationToken);
            if (items.Any(i => i.Id == name && i.Tags.TryGetValue(tag, out var v) && v == value))
            {
                return;
            }

            await Task.Delay(GraphPoll, cancellationToken);
        }
    }
}
