using Shellbox.Core.Model;
using Shellbox.Core.Tests.Flows;
using static Shellbox.Core.Tests.Flows.FlowFixture;

namespace Shellbox.Core.Tests.Lifecycle;

/// <summary>
/// Issue 9: a provider delete that fails during Remove-ShellboxBox used to leave the box suspending and its
/// volume deleting for good (connects waited 60 s for BoxBusy, a retried remove said BoxInUse, reconcile
/// failed on the volume every pass).
/// </summary>
public sealed class RemoveRecoveryTests
{
    [Fact]
    public async Task GivenTheProviderDeleteFails_WhenABoxIsRemoved_ThenTheBoxIsUsableAgainAndARetriedRemoveSucceeds()
    {
        await using var f = Create();
        await f.AddInstanceAsync();
        var volume = await f.AddVolumeAsync();
        await f.Catalog.CreateAsync(User, "dev1");
        f.Infra.Log.Fail(nameof(FakeInfrastructure.DeleteBoxVolumeAsync));

        await Flow.FailsWithAsync(CallLog.InjectedFailure, () => f.Catalog.RemoveAsync(User, "dev1"));

        // The box is back at rest on its volume: a connect resumes it at once, no wait.
        Assert.True(f.Infra.HasVolume(volume));
        var c = await f.Connect.ConnectAsync(User, "dev1", create: false);
        Assert.Equal("returning", c.Trace.Path);
        await f.Disconnect.DisconnectAsync(c.Box.Id, c.SessionId);
        await f.AssertConsistentAsync();

        await f.Catalog.RemoveAsync(User, "dev1");

        Assert.False(f.Infra.HasVolume(volume));
        Assert.Null(await f.GetAsync<VolumeRecord>(volume));
        Assert.Null(await f.GetAsync<BoxRecord>(BoxId("dev1")));
    }

    [Fact]
    public async Task GivenTheProviderDeleteFailsAndTheRollbackToo_WhenReconciledAfterTheMarkExpires_ThenTheBoxIsAtRestAndReconcileHasNoFailure()
    {
        await using var f = Create();
        var volume = await f.AddVolumeAsync();
        await f.Catalog.CreateAsync(User, "dev1");
        f.Infra.Log.Fail(nameof(FakeInfrastructure.DeleteBoxVolumeAsync));
        f.Store.BeforeCommit = writes =>
            writes.Any(w => w.Record is BoxRecord { Mark: null } && w.Kind == Ports.StoreWriteKind.Replace)
                ? throw new IOException("the store went away (injected)")
                : Task.CompletedTask;

        await Assert.ThrowsAnyAsync<Exception>(() => f.Catalog.RemoveAsync(User, "dev1"));
        f.Store.BeforeCommit = null;
        Assert.NotNull((await f.BoxAsync("dev1")).Mark);

        f.Time.Advance(TimeSpan.FromMinutes(11));
        f.Infra.Log.Fail(nameof(FakeInfrastructure.DeleteBoxVolumeAsync), -1);
        var pass = await f.Reconciler.ReconcileAsync();

        Assert.Equal(0, pass.Failed);
        var box = await f.BoxAsync("dev1");
        Assert.Null(box.Mark);
        Assert.Equal(ResourceStatuses.Suspended, (await f.VolumeAsync(volume)).Status);
        Assert.Null((await f.VolumeAsync(volume)).Mark);
        await f.AssertConsistentAsync();
        var second = await f.Reconciler.ReconcileAsync();
        Assert.Equal(0, second.Failed);
    }
}
