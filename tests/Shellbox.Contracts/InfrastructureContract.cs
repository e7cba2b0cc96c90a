using Shellbox.Core.Errors;
using Shellbox.Core.Model;
using Shellbox.Core.Ports;

namespace Shellbox.Contracts;

/// <summary>
/// What every <see cref="IInfrastructure"/> must do. An adapter's test class derives from this and says
/// how to make an empty infrastructure with a known instance cap.
/// </summary>
public abstract class InfrastructureContract
{
    /// <summary>A new infrastructure with no instances and no volumes, private to the calling test.</summary>
    protected abstract Task<IInfrastructure> CreateInfrastructureAsync();

    /// <summary>How many instances the infrastructure from <see cref="CreateInfrastructureAsync"/> may hold at once.</summary>
    protected abstract int InstanceCap { get; }

    /// <summary>A golden snapshot to clone volumes from; an adapter whose golden is costly to check may hand out a cached one.</summary>
    protected virtual Task<GoldenSnapshotInfo> GoldenAsync(IInfrastructure infrastructure) => infrastructure.EnsureGoldenSnapshotAsync();

    private static Dictionary<string, string> Tags(params (string Key, string Value)[] tags) => tags.ToDictionary(t => t.Key, t => t.Value);

    [Fact]
    public async Task A_new_infrastructure_lists_nothing()
    {
        var infrastructure = await CreateInfrastructureAsync();
        Assert.Empty(await infrastructure.ListAsync(ResourceRoles.Instance));
        Assert.Empty(await infrastructure.ListAsync(ResourceRoles.Volume));
    }

    [Fact]
    public async Task Listing_an_unknown_role_is_a_user_error()
    {
        var infrastructure = await CreateInfrastructureAsync();
        var error = await Assert.ThrowsAnyAsync<ShellboxException>(() => infrastructure.ListAsync("toaster"));
        Assert.Equal(ShellboxErrorKind.User, error.Kind);
    }

    [Fact]
    public async Task A_created_instance_lists_with_its_tags_and_creating_it_again_changes_nothing()
    {
        var infrastructure = await CreateInfrastructureAsync();
        var created = await infrastructure.CreateInstanceAsync("instance-a", Tags((TagKeys.Status, ResourceStatuses.Free)));
        var again = await infrastructure.CreateInstanceAsync("instance-a", Tags((TagKeys.Status, ResourceStatuses.Free)));

        Assert.Equal("instance-a", created.InstanceId);
        Assert.False(string.IsNullOrEmpty(created.Endpoint));
        Assert.Equal(created, again);
        var item = Assert.Single(await infrastructure.ListAsync(ResourceRoles.Instance));
        Assert.Equal("instance-a", item.Id);
        Assert.Equal(ResourceRoles.Instance, item.Role);
        Assert.Equal(ResourceRoles.Instance, item.Tags[TagKeys.Role]);
        Assert.Equal(ResourceStatuses.Free, item.Tags[TagKeys.Status]);
        Assert.True(DateTimeOffset.TryParse(item.Tags[TagKeys.Created], out _));
    }

    [Fact]
    public async Task Instances_get_distinct_endpoints()
    {
        var infrastructure = await CreateInfrastructureAsync();
        var a = await infrastructure.CreateInstanceAsync("instance-a", Tags());
        var b = await infrastructure.CreateInstanceAsync("instance-b", Tags());
        Assert.NotEqual(a.Endpoint, b.Endpoint);
    }

    [Fact]
    public async Task Deleting_an_instance_removes_it_and_deleting_it_again_succeeds()
    {
        var infrastructure = await CreateInfrastructureAsync();
        await infrastructure.CreateInstanceAsync("instance-a", Tags());
        await infrastructure.DeleteInstanceAsync("instance-a");
        await infrastructure.DeleteInstanceAsync("instance-a");
        await infrastructure.DeleteInstanceAsync("instance-never");
        Assert.Empty(await infrastructure.ListAsync(ResourceRoles.Instance));
    }

    [Fact]
    public async Task Instances_beyond_the_cap_are_refused_and_a_deleted_one_frees_its_place()
    {
        var infrastructure = await CreateInfrastructureAsync();
        for (var i = 0; i < InstanceCap; i++)
        {
            await infrastructure.CreateInstanceAsync($"instance-{i}", Tags());
        }

        await Assert.ThrowsAnyAsync<ShellboxException>(() => infrastructure.CreateInstanceAsync("instance-extra", Tags()));
        Assert.Equal(InstanceCap, (await infrastructure.ListAsync(ResourceRoles.Instance)).Count);

        await infrastructure.DeleteInstanceAsync("instance-0");
        await infrastructure.CreateInstanceAsync("instance-extra", Tags());
        Assert.Contains(await infrastructure.ListAsync(ResourceRoles.Instance), i => i.Id == "instance-extra");
    }

    [Fact]
    public async Task Ensuring_the_golden_snapshot_twice_returns_the_same_one_without_rebuilding()
    {
        var infrastructure = await CreateInfrastructureAsync();
        var first = await infrastructure.EnsureGoldenSnapshotAsync();
        var second = await infrastructure.EnsureGoldenSnapshotAsync();

        Assert.StartsWith(ShellboxLimits.GoldenSnapshotPrefix + "-", first.Version);
        Assert.Equal(first, second); // same Created: nothing was rebuilt
        Assert.Equal(first, await infrastructure.GetGoldenSnapshotAsync());
    }

    [Fact]
    public async Task A_volume_clones_the_golden_lists_with_its_tags_and_creating_it_again_changes_nothing()
    {
        var infrastructure = await CreateInfrastructureAsync();
        var golden = await GoldenAsync(infrastructure);
        await infrastructure.CreateVolumeAsync("volume-a", golden, Tags((TagKeys.Status, ResourceStatuses.Free)));
        await infrastructure.CreateVolumeAsync("volume-a", golden, Tags((TagKeys.Status, ResourceStatuses.Free)));

        var item = Assert.Single(await infrastructure.ListAsync(ResourceRoles.Volume));
        Assert.Equal("volume-a", item.Id);
        Assert.Equal(ResourceRoles.Volume, item.Tags[TagKeys.Role]);
        Assert.Equal(golden.Version, item.Tags[TagKeys.Golden]);
        Assert.Equal(ResourceStatuses.Free, item.Tags[TagKeys.Status]);
        Assert.True(DateTimeOffset.TryParse(item.Tags[TagKeys.Created], out _));
        Assert.False(item.Tags.ContainsKey(TagKeys.UserId));
    }

    [Fact]
    public async Task A_volume_reports_the_disk_it_takes_and_a_deleted_one_none()
    {
        var infrastructure = await CreateInfrastructureAsync();
        var golden = await GoldenAsync(infrastructure);
        Assert.Null(await infrastructure.GetVolumeSizeAsync("volume-never"));
        await infrastructure.CreateVolumeAsync("volume-a", golden, Tags());

        var size = await infrastructure.GetVolumeSizeAsync("volume-a");

        Assert.True(size > 0, $"a volume takes some disk, not {size}");
        await infrastructure.DeleteVolumeAsync("volume-a");
        Assert.Null(await infrastructure.GetVolumeSizeAsync("volume-a"));
    }

    [Fact]
    public async Task Deleting_a_volume_removes_it_and_deleting_it_again_succeeds()
    {
        var infrastructure = await CreateInfrastructureAsync();
        var golden = await GoldenAsync(infrastructure);
        await infrastructure.CreateVolumeAsync("volume-a", golden, Tags());
        await infrastructure.DeleteVolumeAsync("volume-a");
        await infrastructure.DeleteVolumeAsync("volume-a");
        await infrastructure.DeleteVolumeAsync("volume-never");
        Assert.Empty(await infrastructure.ListAsync(ResourceRoles.Volume));
    }

    [Fact]
    public async Task Attaching_binds_one_volume_to_one_instance_and_detaching_frees_both()
    {
        var infrastructure = await CreateInfrastructureAsync();
        var golden = await GoldenAsync(infrastructure);
        await infrastructure.CreateInstanceAsync("instance-a", Tags());
        await infrastructure.CreateInstanceAsync("instance-b", Tags());
        await infrastructure.CreateVolumeAsync("volume-1", golden, Tags());
        await infrastructure.CreateVolumeAsync("volume-2", golden, Tags());

        await infrastructure.AttachAsync("instance-a", "volume-1", Tags((TagKeys.Status, ResourceStatuses.Attached)));
        await infrastructure.AttachAsync("instance-a", "volume-1", Tags((TagKeys.Status, ResourceStatuses.Attached))); // again: no change

        // WHEN the volume is wanted elsewhere, or the instance is asked to take a second volume
        await Assert.ThrowsAnyAsync<ShellboxException>(() => infrastructure.AttachAsync("instance-b", "volume-1", Tags()));
        await Assert.ThrowsAnyAsync<ShellboxException>(() => infrastructure.AttachAsync("instance-a", "volume-2", Tags()));

        // THEN nothing moved; and after a detach the volume may go to the other instance
        Assert.Equal(ResourceStatuses.Attached, (await infrastructure.ListAsync(ResourceRoles.Instance)).Single(i => i.Id == "instance-a").Tags[TagKeys.Status]);
        await infrastructure.DetachAsync("instance-a", "volume-1");
        await infrastructure.DetachAsync("instance-a", "volume-1");
        await infrastructure.AttachAsync("instance-b", "volume-1", Tags());
        await infrastructure.AttachAsync("instance-a", "volume-2", Tags());
    }

    [Fact]
    public async Task Attaching_what_does_not_exist_is_refused()
    {
        var infrastructure = await CreateInfrastructureAsync();
        var golden = await GoldenAsync(infrastructure);
        await infrastructure.CreateInstanceAsync("instance-a", Tags());
        await infrastructure.CreateVolumeAsync("volume-1", golden, Tags());

        var noVolume = await Assert.ThrowsAnyAsync<ShellboxException>(() => infrastructure.AttachAsync("instance-a", "volume-never", Tags()));
        var noInstance = await Assert.ThrowsAnyAsync<ShellboxException>(() => infrastructure.AttachAsync("instance-never", "volume-1", Tags()));
        Assert.Equal(ShellboxErrorKind.NotFound, noVolume.Kind);
        Assert.Equal(ShellboxErrorKind.NotFound, noInstance.Kind);
    }

    [Fact]
    public async Task The_owner_named_at_attach_shows_in_the_volume_tags()
    {
        var infrastructure = await CreateInfrastructureAsync();
        var golden = await GoldenAsync(infrastructure);
        await infrastructure.CreateInstanceAsync("instance-a", Tags());
        await infrastructure.CreateVolumeAsync("volume-1", golden, Tags());

        await infrastructure.AttachAsync("instance-a", "volume-1", Tags((TagKeys.UserId, "u1"), (TagKeys.BoxName, "dev33")));

        var volume = Assert.Single(await infrastructure.ListAsync(ResourceRoles.Volume));
        Assert.Equal("u1", volume.Tags[TagKeys.UserId]);
        Assert.Equal("dev33", volume.Tags[TagKeys.BoxName]);
        var instance = Assert.Single(await infrastructure.ListAsync(ResourceRoles.Instance));
        Assert.Equal("u1", instance.Tags[TagKeys.UserId]);
    }
}
