using Shellbox.Core.Boxes;
using Shellbox.Core.Model;
using static Shellbox.Core.Tests.Flows.FlowFixture;

namespace Shellbox.Core.Tests.Flows;

/// <summary>Spinup, list and remove.</summary>
public sealed class BoxCatalogTests
{
    [Fact]
    public async Task GivenAFreeUnattachedVolume_WhenABoxIsCreated_ThenItIsBoundWithoutAnyInfrastructureCallAndTheReadyPairIsLeftAlone()
    {
        await using var f = Create();
        var (pairInstance, pairVolume) = await f.AddReadyPairAsync();
        var volume = await f.AddVolumeAsync();

        var view = await f.Catalog.CreateAsync(User, "dev1");

        Assert.Equal((BoxCatalog.Suspended, volume, null, 0), (view.State, view.Box.VolumeId, view.InstanceId, view.Sessions));
        Assert.Empty(f.Infra.Log.Calls);
        Assert.Empty(f.Runtime.Log.Calls);
        var v = await f.VolumeAsync(volume);
        Assert.Equal((ResourceStatuses.Suspended, User, "dev1"), (v.Status, v.UserId, v.BoxName));
        Assert.True((await f.VolumeAsync(pairVolume)).IsFree);
        Assert.True((await f.InstanceAsync(pairInstance)).IsReadyPairHalf);
        await f.AssertConsistentAsync();
    }

    [Fact]
    public async Task GivenACreatedBox_WhenTheUserConnects_ThenItIsAReturningBoxOnItsOwnVolume()
    {
        await using var f = Create();
        await f.AddInstanceAsync();
        var volume = await f.AddVolumeAsync();
        await f.Catalog.CreateAsync(User, "dev1");

        var c = await f.Connect.ConnectAsync(User, "dev1", create: false);

        Assert.Equal("returning", c.Trace.Path);
        Assert.False(c.Created);
        Assert.Equal(volume, c.Box.VolumeId);
        Assert.Equal(BoxCatalog.Running, (await f.Catalog.GetAsync(User, "dev1")).State);
    }

    [Fact]
    public async Task GivenAnExistingBox_WhenCreatedAgain_ThenBoxExistsAndTheStoreIsUnchanged()
    {
        await using var f = Create();
        await f.AddVolumeAsync();
        await f.AddVolumeAsync();
        await f.Catalog.CreateAsync(User, "dev1");
        var before = await f.RowsAsync();

        var e = await Flow.FailsWithAsync("BoxExists", () => f.Catalog.CreateAsync(User, "dev1"));

        Assert.Equal(Errors.ShellboxErrorKind.User, e.Kind);
        Assert.Equal(before, await f.RowsAsync());
    }

    [Fact]
    public async Task GivenTheSameBoxCreatedTwiceAtOnce_WhenBothRun_ThenOneWinsTheOtherGetsBoxExistsAndOneVolumeIsBound()
    {
        await using var f = Create();
        await f.AddVolumeAsync();
        await f.AddVolumeAsync();

        var outcomes = await Task.WhenAll(Flow.StartTogether(2, _ => Flow.TryAsync(f.Catalog.CreateAsync(User, "dev1"))));

        Assert.Single(outcomes, o => o.Result is not null);
        Assert.Equal("BoxExists", Assert.IsAssignableFrom<Errors.ShellboxException>(Assert.Single(outcomes, o => o.Error is not null).Error).ErrorId);
        Assert.Single((await f.Store.ReadSnapshotAsync()).Volumes, v => v.IsOwned);
    }

    [Fact]
    public async Task GivenBothCreatesReadTheBoxAsMissing_WhenTheRivalCommitsFirst_ThenTheLoserGetsBoxExistsNotPoolExhausted()
    {
        await using var f = Create();
        await f.AddVolumeAsync();
        await f.AddVolumeAsync();
        Task<BoxView>? rival = null;
        var once = new Flow.Once();
        f.Store.BeforeCommit = async _ =>
        {
            if (once.Take())
            {
                rival = Task.Run(() => f.Catalog.CreateAsync(User, "dev1"));
                await rival;
            }
        };

        await Flow.FailsWithAsync("BoxExists", () => f.Catalog.CreateAsync(User, "dev1"));

        f.Store.BeforeCommit = null;
        Assert.Equal(BoxCatalog.Suspended, (await rival!).State);
        var snapshot = await f.Store.ReadSnapshotAsync();
        Assert.Single(snapshot.Volumes, v => v.IsOwned);
        Assert.Single(snapshot.Volumes, v => v.IsFree);
    }

    [Fact]
    public async Task GivenOnlyAReadyPair_WhenABoxIsCreated_ThenThePairIsBrokenUpAndItsVolumeBoundAtRest()
    {
        await using var f = Create();
        var (instance, volume) = await f.AddReadyPairAsync();

        var view = await f.Catalog.CreateAsync(User, "dev1");

        Assert.Equal(volume, view.Box.VolumeId);
        Assert.Equal(BoxCatalog.Suspended, view.State);
        Assert.Equal(1, f.Runtime.Log.Count(nameof(FakeBoxRuntime.SuspendAsync)));
        Assert.Equal([$"DetachAsync({instance}, {volume})"], f.Infra.Log.Calls.Select(c => c.ToString()));
        var freed = await f.InstanceAsync(instance);
        Assert.True(freed.IsFree);
        Assert.Null(freed.VolumeId);
        await f.AssertConsistentAsync();
    }

    [Fact]
    public async Task GivenABoxWithALiveSession_WhenRemoved_ThenBoxInUseAndNothingChanges()
    {
        await using var f = Create();
        await f.AddReadyPairAsync();
        await f.Connect.ConnectAsync(User, "dev1");
        f.ClearCalls();
        var before = await f.RowsAsync();

        await Flow.FailsWithAsync("BoxInUse", () => f.Catalog.RemoveAsync(User, "dev1"));

        Assert.Equal(before, await f.RowsAsync());
        Assert.Empty(f.Infra.Log.Calls);
    }

    [Fact]
    public async Task GivenASuspendedBox_WhenRemoved_ThenItsVolumeIsDeletedThroughTheProviderAndBothRowsAreGone()
    {
        await using var f = Create();
        var volume = await f.AddVolumeAsync();
        await f.Catalog.CreateAsync(User, "dev1");

        await f.Catalog.RemoveAsync(User, "dev1");

        Assert.Equal([$"DeleteBoxVolumeAsync({volume}, {User}, dev1)"], f.Infra.Log.Calls.Select(c => c.ToString()));
        Assert.False(f.Infra.HasVolume(volume));
        Assert.Null(await f.GetAsync<BoxRecord>(BoxId("dev1")));
        Assert.Null(await f.GetAsync<VolumeRecord>(volume));
        Assert.Contains(await f.Store.ReadEventsAsync(5), e => e.Kind == "remove-box");
        await Flow.FailsWithAsync("BoxNotFound", () => f.Catalog.GetAsync(User, "dev1"));
    }

    [Fact]
    public async Task GivenALingeringBox_WhenRemoved_ThenItIsDetachedFirstThenItsVolumeDeletedAndTheInstanceFree()
    {
        await using var f = Create(TimeSpan.FromMinutes(5));
        var (instance, volume) = await f.AddReadyPairAsync();
        var c = await f.Connect.ConnectAsync(User, "dev1");
        await f.Disconnect.DisconnectAsync(c.Box.Id, c.SessionId);
        f.ClearCalls();

        await f.Catalog.RemoveAsync(User, "dev1");

        Assert.Equal([$"DetachAsync({instance}, {volume})", $"DeleteBoxVolumeAsync({volume}, {User}, dev1)"], f.Infra.Log.Calls.Select(x => x.ToString()));
        Assert.True((await f.InstanceAsync(instance)).IsFree);
        Assert.Null(await f.GetAsync<VolumeRecord>(volume));
        await f.AssertConsistentAsync();
    }

    [Fact]
    public async Task GivenALingeringBoxBeingRemoved_WhenTheUserConnectsDuringTheDetach_ThenTheConnectNeverJoinsTheDoomedBox()
    {
        await using var f = Create(TimeSpan.FromMinutes(5));
        var (_, volume) = await f.AddReadyPairAsync();
        await f.AddReadyPairAsync();
        var c = await f.Connect.ConnectAsync(User, "dev1");
        await f.Disconnect.DisconnectAsync(c.Box.Id, c.SessionId);
        Task<BoxConnection>? reconnect = null;
        var once = new Flow.Once();
        f.Infra.Log.OnCall = async call =>
        {
            if (call.Name == nameof(FakeInfrastructure.DetachAsync) && once.Take())
            {
                reconnect = Task.Run(() => f.Connect.ConnectAsync(User, "dev1"));
                await Task.WhenAny(reconnect, Task.Delay(300));
            }
        };

        await f.Catalog.RemoveAsync(User, "dev1");

        f.Infra.Log.OnCall = null;
        Assert.False(f.Infra.HasVolume(volume));
        var again = await f.DriveAsync(reconnect!);
        Assert.True(again.Created);
        Assert.NotEqual(volume, again.Box.VolumeId);
        Assert.Equal(again.Box.VolumeId, (await f.BoxAsync("dev1")).VolumeId);
        await f.AssertConsistentAsync();
    }

    [Fact]
    public async Task GivenNoSuchBox_WhenRemoved_ThenBoxNotFound()
    {
        await using var f = Create();

        await Flow.FailsWithAsync("BoxNotFound", () => f.Catalog.RemoveAsync(User, "dev1"));
    }

    [Fact]
    public async Task GivenBoxesOfTwoUsers_WhenListed_ThenEachSeesOnlyTheirOwnInNameOrder()
    {
        await using var f = Create();
        for (var i = 0; i < 3; i++)
        {
            await f.AddVolumeAsync();
        }

        await f.Catalog.CreateAsync(User, "zeta");
        await f.Catalog.CreateAsync(User, "alpha");
        await f.Catalog.CreateAsync("bob", "alpha");

        Assert.Equal(["alpha", "zeta"], (await f.Catalog.ListAsync(User)).Select(v => v.Box.BoxName));
        Assert.Equal(3, (await f.Catalog.ListAsync(null)).Count);
    }
}
