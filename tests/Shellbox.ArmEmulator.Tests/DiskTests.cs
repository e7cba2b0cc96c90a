using Azure;
using Azure.Core;
using Azure.ResourceManager.Compute;
using Azure.ResourceManager.Compute.Models;

namespace Shellbox.ArmEmulator.Tests;

public sealed class DiskTests
{
    [Fact]
    public async Task A_disk_copied_from_a_snapshot_gets_a_copy_of_the_snapshot_folder_with_tags_in_the_same_call()
    {
        await using var session = await EmulatorSession.StartAsync();
        var source = (await session.ResourceGroup.GetManagedDisks().CreateOrUpdateAsync(WaitUntil.Completed, "golden-src", ArmModels.EmptyDisk(session, 64))).Value;
        var sourceFolder = session.Server.State.FindDisk("golden-src")!.Folder;
        await File.WriteAllTextAsync(Path.Combine(sourceFolder, "box.qcow2"), "qcow2 bytes");
        await using (var ram = File.Create(Path.Combine(sourceFolder, "ram.img"))) ram.SetLength(256L * 1024 * 1024);

        var snapshotData = new SnapshotData(new AzureLocation(session.Server.Location))
        {
            CreationData = new DiskCreationData(DiskCreateOption.Copy) { SourceResourceId = source.Id },
            Incremental = true,
        };
        snapshotData.Tags["shellbox:golden"] = "v1";
        var snapshot = (await session.ResourceGroup.GetSnapshots().CreateOrUpdateAsync(WaitUntil.Completed, "golden-snapshot-v1", snapshotData)).Value;
        // The snapshot is the content at the time of the request: later writes to the disk do not reach it.
        await File.WriteAllTextAsync(Path.Combine(sourceFolder, "box.qcow2"), "changed after the snapshot");

        var diskData = new ManagedDiskData(new AzureLocation(session.Server.Location))
        {
            CreationData = new DiskCreationData(DiskCreateOption.Copy) { SourceResourceId = snapshot.Id },
        };
        diskData.Tags["shellbox:role"] = "volume";
        diskData.Tags["shellbox:status"] = "free";
        var volume = (await session.ResourceGroup.GetManagedDisks().CreateOrUpdateAsync(WaitUntil.Completed, "vol-1", diskData)).Value;

        Assert.Equal("free", volume.Data.Tags["shellbox:status"]);
        Assert.Equal(64, volume.Data.DiskSizeGB);
        Assert.Equal(DiskState.Unattached, volume.Data.DiskState);
        Assert.True(snapshot.Data.Incremental);
        var folder = session.Server.State.FindDisk("vol-1")!.Folder;
        Assert.Equal("qcow2 bytes", await File.ReadAllTextAsync(Path.Combine(folder, "box.qcow2")));
        Assert.Equal(256L * 1024 * 1024, new FileInfo(Path.Combine(folder, "ram.img")).Length);
        Assert.NotEqual(sourceFolder, folder);
        Assert.Equal(session.Server.State.FindSnapshot("golden-snapshot-v1")!.SourceResourceId, source.Id.ToString());
    }

    [Fact]
    public async Task Deleting_an_attached_disk_is_refused_and_the_disk_stays()
    {
        await using var session = await EmulatorSession.StartAsync();
        var disk = (await session.ResourceGroup.GetManagedDisks().CreateOrUpdateAsync(WaitUntil.Completed, "vol-a", ArmModels.EmptyDisk(session))).Value;
        var data = ArmModels.Vm(session, "vm1");
        data.StorageProfile.DataDisks.Add(ArmModels.Attach(0, disk.Id));
        await session.ResourceGroup.GetVirtualMachines().CreateOrUpdateAsync(WaitUntil.Completed, "vm1", data);

        var refused = await Assert.ThrowsAsync<RequestFailedException>(() => disk.DeleteAsync(WaitUntil.Completed));

        Assert.Equal(409, refused.Status);
        Assert.Equal("OperationNotAllowed", refused.ErrorCode);
        Assert.Contains("attached", refused.Message, StringComparison.OrdinalIgnoreCase);
        Assert.True((await session.ResourceGroup.GetManagedDisks().ExistsAsync("vol-a")).Value);
        Assert.True(Directory.Exists(session.Server.State.FindDisk("vol-a")!.Folder));
    }

    [Fact]
    public async Task Deleting_a_free_disk_removes_it_and_its_folder()
    {
        await using var session = await EmulatorSession.StartAsync();
        var disk = (await session.ResourceGroup.GetManagedDisks().CreateOrUpdateAsync(WaitUntil.Completed, "vol-a", ArmModels.EmptyDisk(session))).Value;
        var folder = session.Server.State.FindDisk("vol-a")!.Folder;
        Assert.True(Directory.Exists(folder));

        await disk.DeleteAsync(WaitUntil.Completed);

        Assert.False(Directory.Exists(folder));
        var missing = await Assert.ThrowsAsync<RequestFailedException>(() => disk.GetAsync());
        Assert.Equal(404, missing.Status);
        Assert.Equal("ResourceNotFound", missing.ErrorCode);
    }

    [Fact]
    public async Task Listing_disks_follows_next_links_across_pages()
    {
        await using var session = await EmulatorSession.StartAsync(data => new ArmEmulatorOptions { DataDirectory = data, ListPageSize = 2 });
        for (var i = 0; i < 5; i++)
            await session.ResourceGroup.GetManagedDisks().CreateOrUpdateAsync(WaitUntil.Completed, $"vol-{i}", ArmModels.EmptyDisk(session));
        var mark = session.Server.Requests.Mark();

        var names = new List<string>();
        await foreach (var disk in session.ResourceGroup.GetManagedDisks().GetAllAsync()) names.Add(disk.Data.Name);

        Assert.Equal(["vol-0", "vol-1", "vol-2", "vol-3", "vol-4"], names);
        Assert.Equal(3, session.Server.Requests.Since(mark).Count(r => r.Method == "GET" && r.Path.EndsWith("/disks", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task An_injected_503_is_retried_by_the_sdk_and_the_disk_is_created_once()
    {
        await using var session = await EmulatorSession.StartAsync();
        var rule = session.Server.Faults.Add("PUT", "/disks/vol-a$", 503, times: 2);
        var mark = session.Server.Requests.Mark();

        var disk = (await session.ResourceGroup.GetManagedDisks().CreateOrUpdateAsync(WaitUntil.Completed, "vol-a", ArmModels.EmptyDisk(session))).Value;

        Assert.Equal("vol-a", disk.Data.Name);
        Assert.Equal(2, rule.Fired);
        Assert.Equal([503, 503, 202], session.Server.Requests.Since(mark).Where(r => r.Method == "PUT").Select(r => r.Status));
        Assert.Single(session.Server.State.Disks);
    }

    [Fact]
    public async Task Snapshots_list_and_delete_with_their_folders()
    {
        await using var session = await EmulatorSession.StartAsync(data => new ArmEmulatorOptions { DataDirectory = data, ListPageSize = 1 });
        var source = (await session.ResourceGroup.GetManagedDisks().CreateOrUpdateAsync(WaitUntil.Completed, "vol-a", ArmModels.EmptyDisk(session))).Value;
        var snapshots = session.ResourceGroup.GetSnapshots();
        foreach (var name in new[] { "snap-1", "snap-2" })
            await snapshots.CreateOrUpdateAsync(WaitUntil.Completed, name, new SnapshotData(new AzureLocation(session.Server.Location))
            {
                CreationData = new DiskCreationData(DiskCreateOption.Copy) { SourceResourceId = source.Id },
                Incremental = false,
            });
        var folder = session.Server.State.FindSnapshot("snap-1")!.Folder;

        var listed = new List<string>();
        await foreach (var snapshot in snapshots.GetAllAsync()) listed.Add(snapshot.Data.Name);
        await (await snapshots.GetAsync("snap-1")).Value.DeleteAsync(WaitUntil.Completed);

        Assert.Equal(["snap-1", "snap-2"], listed);
        Assert.False(Directory.Exists(folder));
        Assert.Equal(["snap-2"], session.Server.State.Snapshots.Select(s => s.Name));
    }

    [Fact]
    public async Task Patching_a_disk_replaces_its_tags()
    {
        await using var session = await EmulatorSession.StartAsync();
        var disk = (await session.ResourceGroup.GetManagedDisks().CreateOrUpdateAsync(WaitUntil.Completed, "vol-a",
            ArmModels.EmptyDisk(session, tags: new Dictionary<string, string> { ["shellbox:role"] = "volume", ["shellbox:status"] = "free" }))).Value;
        var patch = new ManagedDiskPatch();
        patch.Tags["shellbox:role"] = "volume";
        patch.Tags["shellbox:userid"] = "u1";

        var updated = (await disk.UpdateAsync(WaitUntil.Completed, patch)).Value;

        Assert.Equal(new Dictionary<string, string> { ["shellbox:role"] = "volume", ["shellbox:userid"] = "u1" }, updated.Data.Tags);
    }
}
