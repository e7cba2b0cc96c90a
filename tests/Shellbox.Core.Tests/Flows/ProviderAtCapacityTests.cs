using Shellbox.Core.Boxes;
using Shellbox.Core.Errors;
using Shellbox.Core.Model;
using static Shellbox.Core.Tests.Flows.FlowFixture;

namespace Shellbox.Core.Tests.Flows;

/// <summary>
/// A provider with no room of its own below the pool's caps (Local: every slot of local.maxSlots taken) refuses a
/// slow-path create with <see cref="ProviderAtCapacityException"/> (the Local provider's test checks it throws that):
/// the user gets the same one at-capacity line as at the caps, without a "making your box" promise before it, and
/// nothing the connect held or made is left behind.
/// </summary>
public sealed class ProviderAtCapacityTests
{
    [Fact]
    public async Task GivenALooseVolumeAndAProviderWithNoInstanceSlotLeft_WhenANewBoxConnects_ThenTheAtCapacityLineAloneAndTheVolumeIsFreeAgain()
    {
        await using var f = Create();
        var volume = await f.AddVolumeAsync();
        RefuseInstances(f, slots: 2);
        var told = new NoticeLog();

        var e = await Flow.FailsWithAsync(ConnectFlow.AtCapacityErrorId, () => new ConnectFlow(f.Engine, told).ConnectAsync(User, "dev1"));

        Assert.Equal("At capacity: all 2 instances the pool may have are in use or being made; retry in 30 s.", e.Message);
        Assert.Empty(told.Lines);
        var left = await f.Store.ReadSnapshotAsync();
        Assert.Empty(left.Boxes);
        Assert.Empty(left.Instances);
        var free = Assert.Single(left.Volumes);
        Assert.Equal(volume, free.Id);
        Assert.True(free.IsFree && free.Lease is null && free.Mark is null, $"{free.Id} is left {free.Status} leased {free.Lease}");
        Assert.Empty(await f.Infra.ListAsync(ResourceRoles.Instance));
        await f.AssertConsistentAsync();
    }

    [Fact]
    public async Task GivenAnEmptyPoolAndAProviderWithNoInstanceSlotLeft_WhenANewBoxConnects_ThenTheVolumeMadeAlongsideIsUndone()
    {
        await using var f = Create();
        RefuseInstances(f, slots: 3);

        await Flow.FailsWithAsync(ConnectFlow.AtCapacityErrorId, () => f.Connect.ConnectAsync(User, "dev1"));

        var left = await f.Store.ReadSnapshotAsync();
        Assert.Empty(left.Boxes);
        Assert.Empty(left.Instances);
        Assert.Empty(left.Volumes);
        Assert.Empty(await f.Infra.ListAsync(ResourceRoles.Volume));
    }

    [Fact]
    public async Task GivenASuspendedBoxAndAProviderWithNoInstanceSlotLeft_WhenItReturns_ThenTheAtCapacityLineAndTheBoxRestsOnItsVolume()
    {
        await using var f = Create();
        var volume = await f.AddVolumeAsync();
        await f.Catalog.CreateAsync(User, "dev1");
        RefuseInstances(f, slots: 1);
        var told = new NoticeLog();

        var e = await Flow.FailsWithAsync(ConnectFlow.AtCapacityErrorId, () => new ConnectFlow(f.Engine, told).ConnectAsync(User, "dev1"));

        Assert.Contains("all 1 instances", e.Message);
        Assert.Empty(told.Lines);
        Assert.Equal((null, volume), ((await f.BoxAsync("dev1")).InstanceId, (await f.BoxAsync("dev1")).VolumeId));
        Assert.Empty((await f.Store.ReadSnapshotAsync()).Instances);
        await f.AssertConsistentAsync();
    }

    /// <summary>The provider refuses every instance create as the Local provider does when its slots are all taken.</summary>
    private static void RefuseInstances(FlowFixture f, int slots) =>
        f.Infra.Log.OnCall = call => call.Name == nameof(FakeInfrastructure.CreateInstanceAsync)
            ? throw new ProviderAtCapacityException("LocalSlotsFull", ResourceRoles.Instance, slots, $"All {slots} local instance slots are in use; raise local.maxSlots.")
            : Task.CompletedTask;
}
