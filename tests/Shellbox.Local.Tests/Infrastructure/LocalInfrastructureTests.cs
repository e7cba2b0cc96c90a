using System.Text.Json;
using Shellbox.Core.Errors;
using Shellbox.Core.Model;
using Shellbox.Local.Infrastructure;

namespace Shellbox.Local.Tests.Infrastructure;

/// <summary>What the Local provider adds to the contract: slots and ports, the folder layout, its safety nets.</summary>
[Collection(GoldenCollection.Name)]
public sealed class LocalInfrastructureTests(GoldenFixture golden) : IDisposable
{
    private readonly TempFolder folder = new("shellbox-local");

    public void Dispose() => folder.Dispose();

    private static Dictionary<string, string> NoTags => [];

    private (LocalInfrastructure Infrastructure, int BasePort) Create(int slots = 3)
    {
        var basePort = GoldenFixture.FreePortBlock(slots);
        return (new LocalInfrastructure(GoldenFixture.Settings(folder.Path, slots, basePort), golden.Options), basePort);
    }

    [Fact]
    public async Task Each_instance_is_a_slot_whose_port_is_the_base_port_plus_its_index_and_a_freed_index_is_reused()
    {
        var (infrastructure, basePort) = Create();
        var a = await infrastructure.CreateInstanceAsync("instance-a", NoTags);
        var b = await infrastructure.CreateInstanceAsync("instance-b", NoTags);
        await infrastructure.DeleteInstanceAsync("instance-a");
        var c = await infrastructure.CreateInstanceAsync("instance-c", NoTags);

        Assert.Equal($"127.0.0.1:{basePort}", a.Endpoint);
        Assert.Equal($"127.0.0.1:{basePort + 1}", b.Endpoint);
        Assert.Equal($"127.0.0.1:{basePort}", c.Endpoint);
        using var slot = JsonDocument.Parse(await File.ReadAllTextAsync(folder.Combine("instances", "instance-c", "slot.json")));
        Assert.Equal(0, slot.RootElement.GetProperty("slot").GetInt32());
        Assert.Equal(basePort, slot.RootElement.GetProperty("port").GetInt32());
    }

    [Fact]
    public async Task A_volume_tagged_with_its_owner_is_deleted_only_by_its_owners_remove()
    {
        var (infrastructure, _) = Create();
        await infrastructure.CreateVolumeAsync("volume-a", golden.Golden, NoTags);
        await infrastructure.TagVolumeAsync("volume-a", new Dictionary<string, string> { [TagKeys.UserId] = "alice", [TagKeys.BoxName] = "dev33" });

        Assert.Equal("VolumeOwned", (await Assert.ThrowsAsync<ShellboxException>(() => infrastructure.DeleteVolumeAsync("volume-a"))).ErrorId);
        Assert.Equal("VolumeOwnerMismatch", (await Assert.ThrowsAsync<ShellboxException>(() => infrastructure.DeleteBoxVolumeAsync("volume-a", "bob", "dev33"))).ErrorId);
        Assert.True(Directory.Exists(folder.Combine("volumes", "volume-a")));
        Assert.Contains((await infrastructure.ListAsync(ResourceRoles.Volume)).Single(v => v.Id == "volume-a").Tags, t => t.Key == TagKeys.UserId && t.Value == "alice");

        await infrastructure.DeleteBoxVolumeAsync("volume-a", "alice", "dev33");

        Assert.False(Directory.Exists(folder.Combine("volumes", "volume-a")));
    }

    [Fact]
    public async Task When_every_slot_is_taken_the_error_says_which_and_how_to_get_more()
    {
        var (infrastructure, _) = Create(slots: 1);
        await infrastructure.CreateInstanceAsync("instance-a", NoTags);

        var error = await Assert.ThrowsAsync<ProviderAtCapacityException>(() => infrastructure.CreateInstanceAsync("instance-b", NoTags));

        Assert.Equal("LocalSlotsFull", error.ErrorId);
        Assert.Equal((ResourceRoles.Instance, 1), (error.Role, error.Cap));
        Assert.Contains("instance-a", error.Message);
        Assert.Contains("maxSlots", error.Message);
    }

    [Fact]
    public async Task Racing_creators_in_separate_objects_never_share_a_slot()
    {
        // Separate objects stand for separate pwsh processes: only the folder lock keeps them apart.
        var basePort = GoldenFixture.FreePortBlock(3);
        var settings = GoldenFixture.Settings(folder.Path, 3, basePort);
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var racers = Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
        {
            await start.Task;
            try
            {
                return (await new LocalInfrastructure(settings, golden.Options).CreateInstanceAsync($"instance-{i}", NoTags)).Endpoint;
            }
            catch (ShellboxException e) when (e.ErrorId == "LocalSlotsFull")
            {
                return null;
            }
        })).ToList();
        start.SetResult();
        var endpoints = (await Task.WhenAll(racers)).OfType<string>().ToList();

        Assert.Equal(3, endpoints.Count);
        Assert.Equal(3, endpoints.Distinct().Count());
    }

    [Fact]
    public async Task A_volume_is_an_overlay_on_the_golden_disk_with_a_copy_of_its_device_state_and_its_ram_left_in_the_golden()
    {
        var (infrastructure, _) = Create();
        await infrastructure.CreateVolumeAsync("volume-a", golden.Golden, NoTags);

        var volume = folder.Combine("volumes", "volume-a");
        var info = await Files.ExternalTool.RunAsync("qemu-img", ["info", "--output=json", Path.Combine(volume, "box.qcow2")], CancellationToken.None);
        using var json = JsonDocument.Parse(info);
        Assert.Equal(Path.Combine(golden.Golden.Location, "golden.qcow2"), json.RootElement.GetProperty("backing-filename").GetString());
        Assert.False(File.Exists(Path.Combine(volume, "ram.img"))); // copied in by its first resume
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(golden.Golden.Location, "device.state")), await File.ReadAllBytesAsync(Path.Combine(volume, "device.state")));
        using var meta = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(volume, "meta.json")));
        Assert.Equal(golden.Golden.Version, meta.RootElement.GetProperty("golden").GetString());
        Assert.False(meta.RootElement.TryGetProperty("hostKey", out _)); // pinned at its first resume, not before
        Assert.True(meta.RootElement.GetProperty("ramInGolden").GetBoolean());
    }

    [Fact]
    public async Task A_volume_with_an_owner_or_attached_to_an_instance_is_never_deleted()
    {
        var (infrastructure, _) = Create();
        await infrastructure.CreateInstanceAsync("instance-a", NoTags);
        await infrastructure.CreateVolumeAsync("volume-owned", golden.Golden, NoTags);
        await infrastructure.CreateVolumeAsync("volume-attached", golden.Golden, NoTags);
        await infrastructure.AttachAsync("instance-a", "volume-owned", new Dictionary<string, string> { [TagKeys.UserId] = "u1", [TagKeys.BoxName] = "dev33" });
        await infrastructure.DetachAsync("instance-a", "volume-owned");
        await infrastructure.AttachAsync("instance-a", "volume-attached", NoTags);

        var owned = await Assert.ThrowsAsync<ShellboxException>(() => infrastructure.DeleteVolumeAsync("volume-owned"));
        var attached = await Assert.ThrowsAsync<ShellboxException>(() => infrastructure.DeleteVolumeAsync("volume-attached"));

        Assert.Equal("VolumeOwned", owned.ErrorId);
        Assert.Contains("u1", owned.Message);
        Assert.Equal("VolumeAttached", attached.ErrorId);
        Assert.Equal(2, (await infrastructure.ListAsync(ResourceRoles.Volume)).Count);
    }

    [Fact]
    public async Task Detaching_clears_the_box_from_the_instance_tags()
    {
        var (infrastructure, _) = Create();
        await infrastructure.CreateInstanceAsync("instance-a", new Dictionary<string, string> { [TagKeys.Status] = ResourceStatuses.Free });
        await infrastructure.CreateVolumeAsync("volume-a", golden.Golden, NoTags);
        await infrastructure.AttachAsync("instance-a", "volume-a", new Dictionary<string, string> { [TagKeys.Status] = ResourceStatuses.Connected, [TagKeys.UserId] = "u1" });

        await infrastructure.DetachAsync("instance-a", "volume-a");

        var tags = Assert.Single(await infrastructure.ListAsync(ResourceRoles.Instance)).Tags;
        Assert.Equal(ResourceStatuses.Free, tags[TagKeys.Status]);
        Assert.False(tags.ContainsKey(TagKeys.UserId));
    }

    [Fact]
    public async Task Half_made_folders_left_by_a_crash_are_not_listed()
    {
        var (infrastructure, _) = Create();
        Directory.CreateDirectory(folder.Combine("volumes", ".volume-x.0123.tmp"));
        Directory.CreateDirectory(folder.Combine("instances", "instance-without-slot-file"));
        Assert.Empty(await infrastructure.ListAsync(ResourceRoles.Volume));
        Assert.Empty(await infrastructure.ListAsync(ResourceRoles.Instance));
    }

    [Fact]
    public async Task An_id_that_is_not_a_plain_name_is_refused_before_it_touches_a_path()
    {
        var (infrastructure, _) = Create();
        var error = await Assert.ThrowsAsync<ShellboxException>(() => infrastructure.CreateInstanceAsync("../escape", NoTags));
        Assert.Equal(ShellboxErrorKind.User, error.Kind);
        Assert.False(Directory.Exists(folder.Combine("escape")));
    }

    [Fact]
    public void The_golden_script_is_found_by_walking_up_from_the_assembly()
    {
        var script = GoldenScript.Locate(null);
        Assert.Equal(Path.Combine(GoldenFixture.RepositoryRoot(), "assets", "golden", "build-golden.sh"), script.Path);
    }
}
