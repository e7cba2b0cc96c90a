using Shellbox.Core.Lifecycle;
using Shellbox.Core.Model;
using Shellbox.Core.Planning;
using Shellbox.Core.Store;
using Shellbox.Core.Tests.Flows;
using static Shellbox.Core.Tests.Flows.FlowFixture;

namespace Shellbox.Core.Tests.Lifecycle;

/// <summary>Marks left by a holder that died (written here as a crash would leave them): one reconcile after expiry settles each.</summary>
public sealed class ReconcileRepairTests
{
    [Fact]
    public async Task GivenARemovalThatDiedAfterTheProviderDelete_WhenReconciledAfterTheMarkExpires_ThenTheBoxIsGoneAndTheNextPassHasNothingToRepair()
    {
        await using var f = Create();
        var volume = await f.AddVolumeAsync();
        await f.Catalog.CreateAsync(User, "dev1");
        var mark = TransitionMark.Start(TransitionAct.Remove, "remover", f.Time.GetUtcNow());
        await f.Store.CommitAsync(
        [
            Ports.StoreWrite.Replace(await f.BoxAsync("dev1") with { Mark = mark }),
            Ports.StoreWrite.Replace(await f.VolumeAsync(volume) with { Status = ResourceStatuses.Deleting, Mark = mark }),
        ]);
        await f.Infra.DeleteBoxVolumeAsync(volume, User, "dev1");

        f.Time.Advance(TransitionMark.DurationOf(TransitionAct.Remove));
        var pass = await f.Reconciler.ReconcileAsync();

        Assert.Equal(0, pass.Failed);
        Assert.Contains(pass.Outcomes, o => o.Action is RepairTransition { Act: TransitionAct.Remove });
        Assert.Null(await f.GetAsync<BoxRecord>(BoxId("dev1")));
        Assert.Null(await f.GetAsync<VolumeRecord>(volume));
        var next = await f.Reconciler.ReconcileAsync();
        Assert.DoesNotContain(next.Outcomes, o => o.Action is RepairTransition or ReportDrift or ResetStuck);
    }

    [Fact]
    public async Task GivenAReleaseThatDiedAfterTheSuspend_WhenReconciledAfterTheMarkExpires_ThenTheBoxIsDetachedAtRestAndTheInstanceFree()
    {
        await using var f = Create();
        var (instance, volume) = await f.AddReadyPairAsync();
        var c = await f.Connect.ConnectAsync(User, "dev1");
        await f.Store.ReplaceAsync(await f.BoxAsync("dev1") with { Sessions = [], Mark = TransitionMark.Start(TransitionAct.Release, c.SessionId, f.Time.GetUtcNow()) });
        await f.Runtime.SuspendAsync(instance, volume); // the holder died between the suspend and the detach

        f.Time.Advance(f.Settings.LeaseDuration);
        var pass = await f.Reconciler.ReconcileAsync();

        Assert.Equal(0, pass.Failed);
        var box = await f.BoxAsync("dev1");
        Assert.Equal((null, null), (box.InstanceId, box.Mark));
        Assert.Equal(ResourceStatuses.Suspended, (await f.VolumeAsync(volume)).Status);
        Assert.True((await f.InstanceAsync(instance)).IsFree);
        await f.AssertConsistentAsync();
    }

    [Fact]
    public async Task GivenAUsersVolumeLeftDeletingWithoutAMarkByAnOlderEngine_WhenReconciledPastTheGracePeriod_ThenItIsPutBackAtRestAndNeverDeleted()
    {
        await using var f = Create();
        await f.AddInstanceAsync();
        var volume = await f.AddVolumeAsync();
        await f.Catalog.CreateAsync(User, "dev1");
        await f.Store.ReplaceAsync(await f.VolumeAsync(volume) with { Status = ResourceStatuses.Deleting });

        f.Time.Advance(PoolPlanner.GracePeriod);
        var pass = await f.Reconciler.ReconcileAsync();

        Assert.Equal(0, pass.Failed);
        Assert.True(f.Infra.HasVolume(volume));
        Assert.Equal(0, f.Infra.Log.Count(nameof(FakeInfrastructure.DeleteVolumeAsync)) + f.Infra.Log.Count(nameof(FakeInfrastructure.DeleteBoxVolumeAsync)));
        Assert.Equal(ResourceStatuses.Suspended, (await f.VolumeAsync(volume)).Status);
        var c = await f.Connect.ConnectAsync(User, "dev1", create: false);
        Assert.Equal(volume, c.Box.VolumeId);
    }
}
