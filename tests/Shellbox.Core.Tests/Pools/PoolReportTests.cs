using Shellbox.Core.Model;
using Shellbox.Core.Pools;
using Shellbox.Core.Tests.Flows;

namespace Shellbox.Core.Tests.Pools;

/// <summary>Get-ShellboxPool's drift columns: what the provider lists against what the store holds.</summary>
public sealed class PoolReportTests
{
    [Fact]
    public async Task GIVEN_the_provider_lists_what_the_store_holds_THEN_no_drift_is_reported()
    {
        await using var f = FlowFixture.Create();
        await f.AddInstanceAsync();
        await f.AddVolumeAsync();

        var report = await PoolReport.ReadAsync(f.Engine);

        Assert.Null(report.InventoryError);
        Assert.All(report.Drift, d => Assert.Equal((1, 0, 0), (d.Listed, d.Orphans.Count, d.Ghosts.Count)));
        Assert.Equal([1, 1], report.Pools.Select(p => p.Total));
    }

    [Fact]
    public async Task GIVEN_a_resource_only_the_provider_lists_and_a_row_it_no_longer_lists_THEN_they_are_named_as_orphan_and_ghost()
    {
        await using var f = FlowFixture.Create();
        var volume = await f.AddVolumeAsync();
        f.Infra.Seed(ResourceRoles.Instance, "instance-stray", FlowFixture.Start);
        await f.Infra.DeleteVolumeAsync(volume);

        var report = await PoolReport.ReadAsync(f.Engine);

        var instances = report.Drift.Single(d => d.Pool == ResourceRoles.Instance);
        var volumes = report.Drift.Single(d => d.Pool == ResourceRoles.Volume);
        Assert.Equal(["instance-stray"], instances.Orphans);
        Assert.Equal([volume], volumes.Ghosts);
        Assert.Equal(1, report.Pools.Single(p => p.Pool == ResourceRoles.Volume).Total);
    }
}
