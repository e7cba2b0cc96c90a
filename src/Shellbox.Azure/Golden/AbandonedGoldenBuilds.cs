using System.Globalization;
using Azure;
using Azure.ResourceManager.Compute;
using Shellbox.Azure.Arm;
using Shellbox.Core.Ports;

namespace Shellbox.Azure.Golden;

/// <summary>
/// What golden builds left behind when their process died (no finally ran): VMs and disks tagged
/// shellbox:golden-build with a start older than any build can run. Listed through ARM, not Resource
/// Graph, which lags; VMs first, so their NICs and OS disks go with them and their data disks come free.
/// </summary>
internal sealed class AbandonedGoldenBuilds(ArmContext arm, TimeSpan abandonedAfter)
{
    /// <summary>Deletes the temporary VMs, then disks, of builds that started too long ago to be running still.</summary>
    public async Task SweepAsync(IProgress<ShellboxProgress>? progress, CancellationToken cancellationToken)
    {
        var now = arm.Time.GetUtcNow();
        bool Abandoned(IDictionary<string, string> tags) =>
            tags.TryGetValue(AzureTagKeys.GoldenBuild, out var text)
            && (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var started) || now - started >= abandonedAfter);

        var vms = await ArmErrors.GuardAsync(arm.CredentialName, "list the VMs of the resource group", async () =>
        {
            var found = new List<string>();
            await foreach (var vm in arm.ResourceGroup.GetVirtualMachines().GetAllAsync(cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                if (Abandoned(vm.Data.Tags))
                {
                    found.Add(vm.Data.Name);
                }
            }

            return found;
        }).ConfigureAwait(false);
        foreach (var name in vms)
        {
            progress?.Report(new ShellboxProgress(AzureGoldenSnapshots.Activity, $"Deleting {name}, left by an earlier build", 5));
            await arm.DeleteAsync($"delete the abandoned golden build VM '{name}'", ct => arm.Client.GetVirtualMachineResource(arm.VmId(name)).DeleteAsync(WaitUntil.Completed, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        }

        var disks = await ArmErrors.GuardAsync(arm.CredentialName, "list the disks of the resource group", async () =>
        {
            var found = new List<string>();
            await foreach (var disk in arm.ResourceGroup.GetManagedDisks().GetAllAsync(cancellationToken).ConfigureAwait(false))
            {
                if (Abandoned(disk.Data.Tags))
                {
                    found.Add(disk.Data.Name);
                }
            }

            return found;
        }).ConfigureAwait(false);
        foreach (var name in disks)
        {
            progress?.Report(new ShellboxProgress(AzureGoldenSnapshots.Activity, $"Deleting {name}, left by an earlier build", 5));
            await arm.DeleteAsync($"delete the abandoned golden build disk '{name}'", ct => arm.Client.GetManagedDiskResource(arm.DiskId(name)).DeleteAsync(WaitUntil.Completed, ct), cancellationToken).ConfigureAwait(false);
        }
    }
}
