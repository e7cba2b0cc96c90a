using Shellbox.Core.Errors;
using Shellbox.Core.Model;

namespace Shellbox.Azure.Tests.Arm;

/// <summary>What attach, detach, tagging and deletes cost in ARM calls, and what they leave in Azure.</summary>
public sealed class AttachAndTagTests : IAsyncLifetime
{
    private AzureOnEmulator azure = null!;

    public async Task InitializeAsync() => azure = await AzureOnEmulator.StartAsync();

    public async Task DisposeAsync() => await azure.DisposeAsync();

    private static Dictionary<string, string> Tags(params (string Key, string Value)[] tags) => tags.ToDictionary(t => t.Key, t => t.Value);

    [Fact]
    public async Task Attaching_a_returning_box_is_one_ARM_write_carrying_the_disk_and_the_tags()
    {
        // GIVEN a free instance and a volume that already belongs to u1/dev33 (a returning box)
        var infrastructure = azure.Infrastructure();
        var golden = await infrastructure.EnsureGoldenSnapshotAsync();
        var instance = await infrastructure.CreateInstanceAsync("instance-a", Tags((TagKeys.Status, ResourceStatuses.Free)));
        await infrastructure.CreateVolumeAsync("volume-1", golden, Tags((TagKeys.Status, ResourceStatuses.Suspended), (TagKeys.UserId, "u1"), (TagKeys.BoxName, "dev33")));

        // WHEN the connect attaches it with the instance's new tags
        var mark = azure.Emulator.Requests.Mark();
        await infrastructure.AttachAsync("instance-a", "volume-1", Tags((TagKeys.Status, ResourceStatuses.Connected), (TagKeys.UserId, "u1"), (TagKeys.BoxName, "dev33")));

        // THEN exactly one write reached ARM, a VM PATCH, and it did both jobs
        var writes = azure.Emulator.Requests.Since(mark).Where(r => r.IsWrite).ToList();
        var write = Assert.Single(writes);
        Assert.Equal("PATCH", write.Method);
        Assert.EndsWith("/virtualMachines/instance-a", write.Path, StringComparison.OrdinalIgnoreCase);
        var vm = azure.Emulator.State.FindVirtualMachine("instance-a")!;
        Assert.Equal("volume-1", vm.DataDiskNamesByLun[0]);
        Assert.Equal(ResourceStatuses.Connected, vm.Tags[TagKeys.Status]);
        Assert.Equal("u1", vm.Tags[TagKeys.UserId]);
        Assert.Equal(instance.HostKey, vm.Tags["shellbox:hostkey"]); // the pinned key survives the tag replacement
        Assert.Equal(ResourceRoles.Instance, vm.Tags[TagKeys.Role]);
        Assert.Equal("instance-a", azure.Emulator.State.FindDisk("volume-1")!.ManagedBy?.Split('/')[^1]);
    }

    [Fact]
    public async Task An_attach_polled_at_its_own_interval_returns_only_once_the_VM_update_has_succeeded()
    {
        // GIVEN a VM update that takes 300 ms in ARM, and the provider polling every 20 ms instead of the SDK's second
        var infrastructure = azure.Infrastructure(options: azure.Options with { OperationPollInterval = TimeSpan.FromMilliseconds(20) });
        var golden = await infrastructure.EnsureGoldenSnapshotAsync();
        await infrastructure.CreateInstanceAsync("instance-a", Tags());
        await infrastructure.CreateVolumeAsync("volume-1", golden, Tags((TagKeys.UserId, "u1"), (TagKeys.BoxName, "dev33")));
        azure.Emulator.Latencies.Set(ArmEmulator.EmulatorLatency.VmUpdate, TimeSpan.FromMilliseconds(300));

        // WHEN the box is attached
        var mark = azure.Emulator.Requests.Mark();
        await infrastructure.AttachAsync("instance-a", "volume-1", Tags((TagKeys.UserId, "u1"), (TagKeys.BoxName, "dev33")));

        // THEN the attach has finished in ARM (not just been accepted), through one write and several polls
        var vm = azure.Emulator.State.FindVirtualMachine("instance-a")!;
        Assert.Equal("Succeeded", vm.ProvisioningState);
        Assert.Equal("volume-1", vm.DataDiskNamesByLun[0]);
        var requests = azure.Emulator.Requests.Since(mark);
        Assert.Single(requests, r => r.IsWrite);
        Assert.True(requests.Count(r => r.Method == "GET" && r.Path.EndsWith("/virtualMachines/instance-a", StringComparison.OrdinalIgnoreCase)) > 2);
    }

    [Fact]
    public async Task A_first_attach_mirrors_the_owner_onto_the_volume_with_one_tag_merge_after_the_attach()
    {
        var infrastructure = azure.Infrastructure();
        var golden = await infrastructure.EnsureGoldenSnapshotAsync();
        await infrastructure.CreateInstanceAsync("instance-a", Tags());
        await infrastructure.CreateVolumeAsync("volume-1", golden, Tags());

        var mark = azure.Emulator.Requests.Mark();
        await infrastructure.AttachAsync("instance-a", "volume-1", Tags((TagKeys.UserId, "u1"), (TagKeys.BoxName, "dev33")));

        var writes = azure.Emulator.Requests.Since(mark).Where(r => r.IsWrite).Select(r => (r.Method, r.Path)).ToList();
        Assert.Equal(2, writes.Count);
        Assert.Equal("PATCH", writes[0].Method);
        Assert.EndsWith("/virtualMachines/instance-a", writes[0].Path, StringComparison.OrdinalIgnoreCase);
        Assert.EndsWith("/disks/volume-1/providers/Microsoft.Resources/tags/default", writes[1].Path, StringComparison.OrdinalIgnoreCase);
        var disk = azure.Emulator.State.FindDisk("volume-1")!;
        Assert.Equal("u1", disk.Tags[TagKeys.UserId]);
        Assert.Equal("dev33", disk.Tags[TagKeys.BoxName]);
        Assert.Equal(golden.Version, disk.Tags[TagKeys.Golden]); // a merge: the clone's own tags stay
    }

    [Fact]
    public async Task An_attach_that_went_through_stands_when_the_owner_mirror_fails_leaving_the_tag_for_reconcile_to_mirror()
    {
        var infrastructure = azure.Infrastructure();
        var golden = await infrastructure.EnsureGoldenSnapshotAsync();
        await infrastructure.CreateInstanceAsync("instance-a", Tags());
        await infrastructure.CreateVolumeAsync("volume-1", golden, Tags());
        var outage = azure.Emulator.Faults.Add("PATCH", "/disks/volume-1/providers/Microsoft.Resources/tags/default$", 503, times: 100);

        await infrastructure.AttachAsync("instance-a", "volume-1", Tags((TagKeys.UserId, "u1"), (TagKeys.BoxName, "dev33")));

        Assert.True(outage.Fired > 1);
        Assert.Equal("volume-1", azure.Emulator.State.FindVirtualMachine("instance-a")!.DataDiskNamesByLun[0]);
        Assert.False(azure.Emulator.State.FindDisk("volume-1")!.Tags.ContainsKey(TagKeys.UserId));
    }

    [Fact]
    public async Task Detaching_is_one_write_that_frees_the_instance_and_forgets_the_box()
    {
        var infrastructure = azure.Infrastructure();
        var golden = await infrastructure.EnsureGoldenSnapshotAsync();
        await infrastructure.CreateInstanceAsync("instance-a", Tags());
        await infrastructure.CreateVolumeAsync("volume-1", golden, Tags((TagKeys.UserId, "u1"), (TagKeys.BoxName, "dev33")));
        await infrastructure.AttachAsync("instance-a", "volume-1", Tags((TagKeys.Status, ResourceStatuses.Connected), (TagKeys.UserId, "u1"), (TagKeys.BoxName, "dev33")));

        var mark = azure.Emulator.Requests.Mark();
        await infrastructure.DetachAsync("instance-a", "volume-1");

        Assert.Equal(1, azure.Emulator.Requests.CountWritesSince(mark));
        var vm = azure.Emulator.State.FindVirtualMachine("instance-a")!;
        Assert.Empty(vm.DataDiskNamesByLun);
        Assert.Equal(ResourceStatuses.Free, vm.Tags[TagKeys.Status]);
        Assert.False(vm.Tags.ContainsKey(TagKeys.UserId));
        var disk = azure.Emulator.State.FindDisk("volume-1")!;
        Assert.Null(disk.ManagedBy);
        Assert.Equal("u1", disk.Tags[TagKeys.UserId]); // the volume still says whose box it holds
    }

    [Fact]
    public async Task Tagging_a_volume_is_one_merge_patch_of_the_tags_API()
    {
        var infrastructure = azure.Infrastructure();
        var golden = await infrastructure.EnsureGoldenSnapshotAsync();
        await infrastructure.CreateVolumeAsync("volume-1", golden, Tags((TagKeys.Status, ResourceStatuses.Attached)));

        var mark = azure.Emulator.Requests.Mark();
        await infrastructure.TagVolumeAsync("volume-1", Tags((TagKeys.UserId, "u7"), (TagKeys.BoxName, "scratch")));
        await infrastructure.TagVolumeAsync("volume-gone", Tags((TagKeys.UserId, "u7")));

        var write = azure.Emulator.Requests.Since(mark).First(r => r.IsWrite);
        Assert.Equal("PATCH", write.Method);
        Assert.EndsWith("/disks/volume-1/providers/Microsoft.Resources/tags/default", write.Path, StringComparison.OrdinalIgnoreCase);
        var tags = azure.Emulator.State.FindDisk("volume-1")!.Tags;
        Assert.Equal("u7", tags[TagKeys.UserId]);
        Assert.Equal(ResourceStatuses.Attached, tags[TagKeys.Status]);
    }

    [Fact]
    public async Task Deleting_an_instance_takes_its_NIC_and_OS_disk_and_leaves_its_volume()
    {
        var infrastructure = azure.Infrastructure();
        var golden = await infrastructure.EnsureGoldenSnapshotAsync();
        await infrastructure.CreateInstanceAsync("instance-a", Tags());
        await infrastructure.CreateVolumeAsync("volume-1", golden, Tags());
        await infrastructure.AttachAsync("instance-a", "volume-1", Tags());

        await infrastructure.DeleteInstanceAsync("instance-a");

        var state = azure.Emulator.State;
        Assert.Empty(state.VirtualMachines);
        Assert.Empty(state.NetworkInterfaces);
        var disk = Assert.Single(state.Disks);
        Assert.Equal("volume-1", disk.Name);
        Assert.Null(disk.ManagedBy);
    }

    [Fact]
    public async Task An_instance_with_a_users_box_attached_is_not_deleted()
    {
        var infrastructure = azure.Infrastructure();
        var golden = await infrastructure.EnsureGoldenSnapshotAsync();
        await infrastructure.CreateInstanceAsync("instance-a", Tags());
        await infrastructure.CreateVolumeAsync("volume-1", golden, Tags());
        await infrastructure.AttachAsync("instance-a", "volume-1", Tags((TagKeys.UserId, "u1"), (TagKeys.BoxName, "dev33")));

        var error = await Assert.ThrowsAsync<ShellboxException>(() => infrastructure.DeleteInstanceAsync("instance-a"));

        Assert.Equal(ShellboxErrorKind.Conflict, error.Kind);
        Assert.Contains("u1", error.Message);
        Assert.NotNull(azure.Emulator.State.FindVirtualMachine("instance-a"));
        await infrastructure.DetachAsync("instance-a", "volume-1");
        await infrastructure.DeleteInstanceAsync("instance-a");
        Assert.Empty(azure.Emulator.State.VirtualMachines);
    }

    [Fact]
    public async Task Deleting_an_attached_free_volume_detaches_it_first()
    {
        var infrastructure = azure.Infrastructure();
        var golden = await infrastructure.EnsureGoldenSnapshotAsync();
        await infrastructure.CreateInstanceAsync("instance-a", Tags());
        await infrastructure.CreateVolumeAsync("volume-1", golden, Tags());
        await infrastructure.AttachAsync("instance-a", "volume-1", Tags());

        await infrastructure.DeleteVolumeAsync("volume-1");

        Assert.Null(azure.Emulator.State.FindDisk("volume-1"));
        Assert.Empty(azure.Emulator.State.FindVirtualMachine("instance-a")!.DataDiskNamesByLun);
    }

    [Fact]
    public async Task A_box_volume_is_deleted_only_for_its_owner_and_an_owned_one_never_by_the_pool()
    {
        var infrastructure = azure.Infrastructure();
        var golden = await infrastructure.EnsureGoldenSnapshotAsync();
        await infrastructure.CreateVolumeAsync("volume-1", golden, Tags((TagKeys.UserId, "u1"), (TagKeys.BoxName, "dev33")));
        await infrastructure.CreateVolumeAsync("volume-2", golden, Tags());

        var pool = await Assert.ThrowsAsync<ShellboxException>(() => infrastructure.DeleteVolumeAsync("volume-1"));
        var stranger = await Assert.ThrowsAsync<ShellboxException>(() => infrastructure.DeleteBoxVolumeAsync("volume-1", "u2", "dev33"));
        var otherBox = await Assert.ThrowsAsync<ShellboxException>(() => infrastructure.DeleteBoxVolumeAsync("volume-1", "u1", "other"));
        Assert.All([pool, stranger, otherBox], e => Assert.Equal(ShellboxErrorKind.Conflict, e.Kind));
        Assert.Contains("u1", stranger.Message);
        Assert.NotNull(azure.Emulator.State.FindDisk("volume-1"));

        await infrastructure.DeleteBoxVolumeAsync("volume-1", "u1", "dev33");
        await infrastructure.DeleteBoxVolumeAsync("volume-2", "u1", "fresh"); // owned by nobody yet
        await infrastructure.DeleteBoxVolumeAsync("volume-2", "u1", "fresh");
        Assert.Empty(azure.Emulator.State.Disks);
    }

    [Fact]
    public async Task A_volume_clone_is_copied_from_the_golden_snapshot_with_its_tags_in_the_create_call()
    {
        var infrastructure = azure.Infrastructure();
        var golden = await infrastructure.EnsureGoldenSnapshotAsync();

        var mark = azure.Emulator.Requests.Mark();
        await infrastructure.CreateVolumeAsync("volume-1", golden, Tags((TagKeys.Status, ResourceStatuses.Free)));

        Assert.Equal(1, azure.Emulator.Requests.CountWritesSince(mark));
        var disk = azure.Emulator.State.FindDisk("volume-1")!;
        Assert.Equal(azure.Settings.VolumeSizeGB, disk.DiskSizeGB);
        Assert.Equal(ResourceRoles.Volume, disk.Tags[TagKeys.Role]);
        Assert.All(GoldenFilesAgent.BoxFiles, file => Assert.True(File.Exists(Path.Combine(disk.Folder, file)), $"{file} was not cloned"));
    }
}
