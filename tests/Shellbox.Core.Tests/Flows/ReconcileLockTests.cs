using Shellbox.Core.Engine;
using Shellbox.Core.Model;
using static Shellbox.Core.Tests.Flows.FlowFixture;

namespace Shellbox.Core.Tests.Flows;

/// <summary>Planning alone writes nothing: no row, no lock, no event (a lost lock is in ReconcileTests).</summary>
public sealed class ReconcileLockTests
{
    [Fact]
    public async Task GivenAPoolBelowItsBounds_WhenOnlyPlanned_ThenNoRowLockOrEventIsWrittenAndNothingIsCreated()
    {
        await using var f = Create();

        var plan = await f.Reconciler.PlanAsync();

        Assert.NotEmpty(plan.Actions);
        Assert.Empty(await f.RowsAsync());
        Assert.Null(await f.GetAsync<LockRecord>(PoolReconciler.LockName));
        Assert.Empty(await f.Store.ReadEventsAsync(10));
        Assert.Empty(f.Infra.Log.Named(nameof(FakeInfrastructure.CreateInstanceAsync)));
    }
}
