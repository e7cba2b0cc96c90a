using System.Globalization;
using Azure;
using Azure.Core;
using Azure.ResourceManager.Compute;
using Azure.ResourceManager.Compute.Models;
using Azure.ResourceManager.Resources.Models;
using Shellbox.Azure.Golden;
using Shellbox.Azure.Identity;
using Shellbox.Azure.Runtime;
using Shellbox.Azure.Settings;
using Shellbox.Core.Errors;
using Shellbox.Core.Model;
using Shellbox.Core.Ports;

namespace Shellbox.Azure.Arm;

/// <summary>
/// Instances are VMs and volumes managed disks in one resource group, named by their ids. Tags travel
/// in the call that does the work: the create, or the one VM PATCH that attaches or detaches a volume
/// (it carries the whole data-disk list and the whole tag map). The inventory is Resource Graph.
/// </summary>
public sealed class AzureInfrastructure : IInfrastructure
{
    private readonly ArmContext arm;
    private readonly NetworkInterfaces nics;
    private readonly AzureGoldenSnapshots golden;
    private readonly string controlPublicKey;
    private readonly AzureProviderOptions options;

    /// <param name="controlPublicKey">The control plane's SSH public key: the admin login of every instance, baked into the golden.</param>
    public AzureInfrastructure(
        AzureProviderSettings settings,
        NamedCredential credential,
        IInstanceAgent agent,
        string controlPublicKey,
        AzureProviderOptions? options = null,
        TimeProvider? time = null)
    {
        this.options = options ??= new AzureProviderOptions();
        arm = new ArmContext(settings, credential, options, time ?? TimeProvider.System);
        this.controlPublicKey = controlPublicKey.Trim();
        nics = new NetworkInterfaces(arm.Rest);
        Queries = new ResourceGraphQueries(new ResourceGraph(arm.Rest, settings.SubscriptionId, options.ResourceGraphPageSize), settings.ResourceGroup);
        golden = new AzureGoldenSnapshots(arm, nics, agent, this.controlPublicKey, options);
    }

    /// <summary>The seed's Resource Graph queries (counts by status, oldest free) for pool views and drift checks.</summary>
    public ResourceGraphQueries Queries { get; }

    private AzureProviderSettings Settings => arm.Settings;

    public Task<IReadOnlyList<InventoryItem>> ListAsync(string role, CancellationToken cancellationToken = default)
    {
        _ = ResourceGraphQueries.TypeOf(role); // an unknown role is the caller's error, before any call
        return ArmErrors.GuardAsync(arm.CredentialName, $"list the {role}s in Resource Graph", () => Queries.ListAsync(role, cancellationToken));
    }

    public Task<GoldenSnapshotInfo?> GetGoldenSnapshotAsync(CancellationToken cancellationToken = default) =>
        golden.GetCurrentAsync(cancellationToken);

    public Task<GoldenSnapshotInfo> EnsureGoldenSnapshotAsync(IProgress<ShellboxProgress>? progress = null, CancellationToken cancellationToken = default) =>
        golden.EnsureAsync(progress, cancellationToken);

    public async Task<InstanceInfo> CreateInstanceAsync(string instanceId, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken = default)
    {
        var vm = await arm.FindVmAsync(instanceId, cancellationToken).ConfigureAwait(false);
        if (vm is null)
        {
            var hostKey = InstanceHostKey.Generate($"shellbox-{instanceId}");
            var allTags = WithDefaults(tags, ResourceRoles.Instance);
            allTags[AzureTagKeys.HostKey] = hostKey.PublicKeyOpenSsh;
            var data = VirtualMachineDefinition.Build(Settings, instanceId, allTags, CloudInit.Base64(CloudInit.Build(hostKey, Settings.AgentPackageUrl)), controlPublicKey);
            vm = await arm.WriteAsync(
                $"create VM '{instanceId}'",
                async ct => (await arm.ResourceGroup.GetVirtualMachines().CreateOrUpdateAsync(WaitUntil.Completed, instanceId, data, ct).ConfigureAwait(false)).Value,
                cancellationToken).ConfigureAwait(false);
        }

        return await InstanceInfoAsync(vm, cancellationToken).ConfigureAwait(false);
    }

    public async Task DeleteInstanceAsync(string instanceId, CancellationToken cancellationToken = default)
    {
        var vm = await arm.FindVmAsync(instanceId, cancellationToken).ConfigureAwait(false);
        if (vm is null)
        {
            return;
        }

        // The Core never asks this; refusing keeps a bug elsewhere from killing someone's running box. An
        // unowned volume (a ready pair's) holds nothing anyone needs and is simply detached by the delete.
        foreach (var attached in vm.Data.StorageProfile.DataDisks)
        {
            if (attached.ManagedDisk?.Id is { } diskId
                && await arm.FindDiskAsync(diskId.Name, cancellationToken).ConfigureAwait(false) is { } disk
                && disk.Data.Tags.TryGetValue(TagKeys.UserId, out var owner))
            {
                throw new ShellboxException(ShellboxErrorKind.Conflict, "InstanceBoxAttached", $"Instance '{instanceId}' has the box of user '{owner}' (volume '{diskId.Name}') attached; release the box before deleting the instance.");
            }
        }

        // The NIC and OS disk go with the VM (deleteOption Delete); a data disk is detached (Detach): a volume outlives its instance.
        await arm.DeleteAsync(
            $"delete VM '{instanceId}'",
            ct => arm.Client.GetVirtualMachineResource(arm.VmId(instanceId)).DeleteAsync(WaitUntil.Completed, cancellationToken: ct),
            cancellationToken).ConfigureAwait(false);
    }

    public async Task CreateVolumeAsync(string volumeId, GoldenSnapshotInfo golden, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken = default)
    {
        if (await arm.FindDiskAsync(volumeId, cancellationToken).ConfigureAwait(false) is { } existing)
        {
            var clonedFrom = existing.Data.Tags.TryGetValue(TagKeys.Golden, out var version) ? version : "an unknown golden";
            if (clonedFrom != golden.Version)
            {
                throw new ShellboxException(ShellboxErrorKind.Conflict, "VolumeExists", $"Volume '{volumeId}' already exists, cloned from '{clonedFrom}', not '{golden.Version}'.");
            }

            return;
        }

        var allTags = WithDefaults(tags, ResourceRoles.Volume);
        allTags[TagKeys.Golden] = golden.Version;
        var data = ManagedDiskDefinition.CloneOf(Settings, new ResourceIdentifier(golden.Location), allTags);
        await arm.WriteAsync(
            $"create disk '{volumeId}' from '{golden.Version}'",
            ct => arm.ResourceGroup.GetManagedDisks().CreateOrUpdateAsync(WaitUntil.Completed, volumeId, data, ct),
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A duplicate of a suspended box: a managed disk copied from the source disk (createOption Copy), tagged as the
    /// new box's volume in the same call. The source is only read. The copy's files still name the source volume; the
    /// agent claims them for the copy at its first resume (<c>resume VOLUME --copy-of SOURCE</c>), which also drops
    /// the pinned host key so the copy is rekeyed like a fresh clone.
    /// </summary>
    public async Task CopyVolumeAsync(string sourceVolumeId, string copyVolumeId, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken = default)
    {
        var source = await arm.FindDiskAsync(sourceVolumeId, cancellationToken).ConfigureAwait(false)
            ?? throw ShellboxException.NotFound("VolumeNotFound", $"There is no volume '{sourceVolumeId}' to copy.");
        if (await arm.FindDiskAsync(copyVolumeId, cancellationToken).ConfigureAwait(false) is not null)
        {
            throw new ShellboxException(ShellboxErrorKind.Conflict, "VolumeExists", $"Volume '{copyVolumeId}' already exists; a copy never overwrites a volume.");
        }

        var allTags = WithDefaults(tags, ResourceRoles.Volume);
        if (source.Data.Tags.TryGetValue(TagKeys.Golden, out var golden))
        {
            allTags[TagKeys.Golden] = golden;
        }

        var data = ManagedDiskDefinition.CloneOf(Settings, source.Id, allTags);
        await arm.WriteAsync(
            $"copy disk '{sourceVolumeId}' to '{copyVolumeId}'",
            ct => arm.ResourceGroup.GetManagedDisks().CreateOrUpdateAsync(WaitUntil.Completed, copyVolumeId, data, ct),
            cancellationToken).ConfigureAwait(false);
    }

    public async Task DeleteVolumeAsync(string volumeId, CancellationToken cancellationToken = default)
    {
        var disk = await arm.FindDiskAsync(volumeId, cancellationToken).ConfigureAwait(false);
        if (disk is null)
        {
            return;
        }

        if (disk.Data.Tags.TryGetValue(TagKeys.UserId, out var owner))
        {
            // The Core never asks this; refusing here keeps a bug elsewhere from deleting someone's box.
            var box = disk.Data.Tags.TryGetValue(TagKeys.BoxName, out var name) ? name : "?";
            throw new ShellboxException(ShellboxErrorKind.Conflict, "VolumeOwned", $"Volume '{volumeId}' holds the box '{box}' of user '{owner}' and is not deleted.");
        }

        // An unowned volume still attached (an orphan, a broken-up pair) is detached first: Azure refuses to delete an attached disk.
        if (disk.Data.ManagedBy is { } vmId)
        {
            await DetachAsync(vmId.Name, volumeId, cancellationToken).ConfigureAwait(false);
        }

        await DeleteDiskAsync(volumeId, cancellationToken).ConfigureAwait(false);
    }

    public async Task DeleteBoxVolumeAsync(string volumeId, string userId, string boxName, CancellationToken cancellationToken = default)
    {
        var disk = await arm.FindDiskAsync(volumeId, cancellationToken).ConfigureAwait(false);
        if (disk is null)
        {
            return;
        }

        var tags = disk.Data.Tags;
        if (tags.TryGetValue(TagKeys.UserId, out var owner) && (owner != userId || (tags.TryGetValue(TagKeys.BoxName, out var box) ? box : null) != boxName))
        {
            throw new ShellboxException(
                ShellboxErrorKind.Conflict,
                "VolumeOwnerMismatch",
                $"Volume '{volumeId}' holds the box '{(tags.TryGetValue(TagKeys.BoxName, out var theirs) ? theirs : "?")}' of user '{owner}', not '{boxName}' of '{userId}'; it is not deleted.");
        }

        if (disk.Data.ManagedBy is { } vmId)
        {
            throw new ShellboxException(ShellboxErrorKind.Conflict, "VolumeAttached", $"Volume '{volumeId}' is attached to instance '{vmId.Name}'; detach it first.");
        }

        await DeleteDiskAsync(volumeId, cancellationToken).ConfigureAwait(false);
    }

    public async Task<long?> GetVolumeSizeAsync(string volumeId, CancellationToken cancellationToken = default)
    {
        // A managed disk is billed and sized as provisioned: that is what the box takes.
        var disk = await arm.FindDiskAsync(volumeId, cancellationToken).ConfigureAwait(false);
        return disk?.Data.DiskSizeBytes ?? (disk?.Data.DiskSizeGB is { } gb ? gb * (1L << 30) : null);
    }

    public async Task TagVolumeAsync(string volumeId, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken = default)
    {
        var patch = new TagResourcePatch { PatchMode = TagPatchMode.Merge };
        foreach (var (key, value) in tags)
        {
            patch.TagValues[key] = value;
        }

        try
        {
            // One Merge PATCH of the Tags API: no read-modify-write of the whole disk, no race with an attach.
            await arm.WriteAsync(
                $"tag disk '{volumeId}'",
                ct => arm.Client.GetManagedDiskResource(arm.DiskId(volumeId)).GetTagResource().UpdateAsync(WaitUntil.Completed, patch, ct),
                cancellationToken).ConfigureAwait(false);
        }
        catch (ShellboxException e) when (e.Kind == ShellboxErrorKind.NotFound)
        {
            // A volume deleted meanwhile has no owner to mirror.
            Core.Observability.ShellboxLog.Dropped("Shellbox.Azure.Tags", $"tag volume={volumeId} skipped, the disk is gone", e, routine: true);
        }
    }

    public async Task AttachAsync(string instanceId, string volumeId, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken = default)
    {
        var diskRead = arm.FindDiskAsync(volumeId, cancellationToken); // in parallel with the first VM read
        ManagedDiskResource? disk = null;
        await arm.WriteAsync($"attach disk '{volumeId}' to VM '{instanceId}'", async ct =>
        {
            // Read inside the retry: after a 409 the VM may have changed, and the PATCH replaces its whole disk list.
            var vm = await arm.FindVmAsync(instanceId, ct).ConfigureAwait(false) ?? throw InstanceNotFound(instanceId);
            disk = await diskRead.ConfigureAwait(false) ?? throw VolumeNotFound(volumeId);
            var attached = vm.Data.StorageProfile.DataDisks.ToList();
            var already = attached.Any(d => VirtualMachineUpdate.IsDisk(d, volumeId));
            if (!already && attached.FirstOrDefault() is { } other)
            {
                throw new ShellboxException(ShellboxErrorKind.Conflict, "InstanceOccupied", $"Instance '{instanceId}' already has volume '{other.ManagedDisk?.Id?.Name ?? other.Name}' attached; detach it first.");
            }

            if (disk.Data.ManagedBy is { } holder && !holder.Name.Equals(instanceId, StringComparison.OrdinalIgnoreCase))
            {
                throw new ShellboxException(ShellboxErrorKind.Conflict, "VolumeAttachedElsewhere", $"Volume '{volumeId}' is attached to instance '{holder.Name}'; detach it there first.");
            }

            var merged = new Dictionary<string, string>(vm.Data.Tags, StringComparer.Ordinal);
            foreach (var (key, value) in tags)
            {
                merged[key] = value;
            }

            if (!already || !SameTags(vm.Data.Tags, merged))
            {
                await PatchVmAsync(vm, already ? attached : [.. attached, VirtualMachineDefinition.DataDisk(disk.Id)], merged, ct).ConfigureAwait(false);
            }
        }, cancellationToken).ConfigureAwait(false);

        await MirrorOwnerAsync(disk!, tags, cancellationToken).ConfigureAwait(false);
    }

    public Task DetachAsync(string instanceId, string volumeId, CancellationToken cancellationToken = default) =>
        arm.WriteAsync($"detach disk '{volumeId}' from VM '{instanceId}'", async ct =>
        {
            var vm = await arm.FindVmAsync(instanceId, ct).ConfigureAwait(false);
            var attached = vm?.Data.StorageProfile.DataDisks.ToList() ?? [];
            if (vm is null || !attached.Any(d => VirtualMachineUpdate.IsDisk(d, volumeId)))
            {
                return; // not attached there: nothing to undo
            }

            // The instance's tags describe the box it serves: that box is gone from it.
            var tags = new Dictionary<string, string>(vm.Data.Tags, StringComparer.Ordinal);
            tags.Remove(TagKeys.UserId);
            tags.Remove(TagKeys.BoxName);
            tags[TagKeys.Status] = ResourceStatuses.Free;
            await PatchVmAsync(vm, attached.Where(d => !VirtualMachineUpdate.IsDisk(d, volumeId)), tags, ct).ConfigureAwait(false);
        }, cancellationToken);

    private async Task PatchVmAsync(VirtualMachineResource vm, IEnumerable<VirtualMachineDataDisk> disks, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken)
    {
        if (options.OperationPollInterval is not { } interval)
        {
            await vm.UpdateAsync(WaitUntil.Completed, VirtualMachineUpdate.DisksAndTags(disks, tags), cancellationToken: cancellationToken).ConfigureAwait(false);
            return;
        }

        var operation = await vm.UpdateAsync(WaitUntil.Started, VirtualMachineUpdate.DisksAndTags(disks, tags), cancellationToken: cancellationToken).ConfigureAwait(false);
        while (!operation.HasCompleted)
        {
            await Task.Delay(interval, arm.Time, cancellationToken).ConfigureAwait(false);
            await operation.UpdateStatusAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The owner named at attach, mirrored onto the volume when it does not carry it yet (a box's first
    /// attach); a returning box's volume carries it already, so its connect costs the one VM PATCH only.
    /// </summary>
    private async Task MirrorOwnerAsync(ManagedDiskResource disk, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken)
    {
        var owner = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var key in new[] { TagKeys.UserId, TagKeys.BoxName })
        {
            if (tags.TryGetValue(key, out var value) && (!disk.Data.Tags.TryGetValue(key, out var current) || current != value))
            {
                owner[key] = value;
            }
        }

        if (owner.Count == 0)
        {
            return;
        }

        try
        {
            await TagVolumeAsync(disk.Id.Name, owner, cancellationToken).ConfigureAwait(false);
        }
        catch (ShellboxException e) when (e.Kind is ShellboxErrorKind.Service or ShellboxErrorKind.Conflict)
        {
            // The attach itself went through; failing it now would make the connect undo a working attach.
            // The next reconcile lists the volume without its owner tag and mirrors it (a MirrorOwner action,
            // recorded as an event), so this failure is repaired where an operator sees it.
            Core.Observability.ShellboxLog.Dropped("Shellbox.Azure.Tags", $"owner tag of volume={disk.Id.Name} not written after attach; reconcile mirrors it", e);
        }
    }

    private async Task DeleteDiskAsync(string volumeId, CancellationToken cancellationToken) =>
        await arm.DeleteAsync(
            $"delete disk '{volumeId}'",
            ct => arm.Client.GetManagedDiskResource(arm.DiskId(volumeId)).DeleteAsync(WaitUntil.Completed, ct),
            cancellationToken).ConfigureAwait(false);

    private async Task<InstanceInfo> InstanceInfoAsync(VirtualMachineResource vm, CancellationToken cancellationToken)
    {
        var name = vm.Data.Name;
        var nicId = vm.Data.NetworkProfile?.NetworkInterfaces.FirstOrDefault(n => n.Primary != false)?.Id
            ?? throw ShellboxException.Service("AzureVmWithoutNic", $"VM '{name}' has no network interface; delete it and create it again.");
        var address = await ArmErrors.GuardAsync(arm.CredentialName, $"read the address of VM '{name}'", () => nics.PrivateAddressAsync(nicId, cancellationToken)).ConfigureAwait(false);
        var hostKey = vm.Data.Tags.TryGetValue(AzureTagKeys.HostKey, out var key) ? key : null;
        return new InstanceInfo(name, $"{address}:{Settings.InstanceSshPort.ToString(CultureInfo.InvariantCulture)}", hostKey);
    }

    /// <summary>The caller's tags plus what every listed resource carries: its role, and created/status unless given.</summary>
    private Dictionary<string, string> WithDefaults(IReadOnlyDictionary<string, string> tags, string role)
    {
        var all = new Dictionary<string, string>(tags, StringComparer.Ordinal) { [TagKeys.Role] = role };
        all.TryAdd(TagKeys.Created, arm.Time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture));
        all.TryAdd(TagKeys.Status, ResourceStatuses.Free);
        return all;
    }

    private static bool SameTags(IDictionary<string, string> current, IReadOnlyDictionary<string, string> wanted) =>
        current.Count == wanted.Count && wanted.All(t => current.TryGetValue(t.Key, out var value) && value == t.Value);

    private static ShellboxException InstanceNotFound(string id) => ShellboxException.NotFound("InstanceNotFound", $"There is no instance '{id}' (no VM of that name in the resource group).");

    private static ShellboxException VolumeNotFound(string id) => ShellboxException.NotFound("VolumeNotFound", $"There is no volume '{id}' (no managed disk of that name in the resource group).");
}
