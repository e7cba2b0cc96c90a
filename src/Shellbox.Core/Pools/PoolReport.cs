using Shellbox.Core.Engine;
using Shellbox.Core.Errors;
using Shellbox.Core.Model;

namespace Shellbox.Core.Pools;

/// <summary>
/// What Get-ShellboxPool shows: counts from the store (the truth) and, beside them, drift against what the
/// provider lists (Resource Graph on Azure): orphans exist there but not in the store, ghosts the reverse.
/// Reads the whole pool, like reconcile; never on a connect path.
/// </summary>
public sealed record PoolReport(IReadOnlyList<PoolStatus> Pools, IReadOnlyList<PoolDrift> Drift, string? InventoryError)
{
    public static async Task<PoolReport> ReadAsync(ShellboxEngine engine, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(engine);
        var instances = engine.Infrastructure.ListAsync(ResourceRoles.Instance, cancellationToken);
        var volumes = engine.Infrastructure.ListAsync(ResourceRoles.Volume, cancellationToken);
        var snapshot = await engine.Store.ReadSnapshotAsync(cancellationToken).ConfigureAwait(false);
        var pools = PoolStatus.From(snapshot, engine.Settings.Pool);
        try
        {
            var drift = new[]
            {
                PoolDrift.Of(ResourceRoles.Instance, snapshot.Instances.Select(i => (i.Id, i.Status)), await instances.ConfigureAwait(false)),
                PoolDrift.Of(ResourceRoles.Volume, snapshot.Volumes.Select(v => (v.Id, v.Status)), await volumes.ConfigureAwait(false)),
            };
            return new PoolReport(pools, drift, null);
        }
        catch (ShellboxException e) when (e.Kind == ShellboxErrorKind.Service)
        {
            // The counts are the store's and stand on their own; the operator sees why drift is missing.
            return new PoolReport(pools, [], e.Message);
        }
    }
}

/// <summary>One role's drift: how many the provider lists, and which ids only one side knows.</summary>
public sealed record PoolDrift(string Pool, int Listed, IReadOnlyList<string> Orphans, IReadOnlyList<string> Ghosts)
{
    public static PoolDrift Of(string role, IEnumerable<(string Id, string Status)> stored, IReadOnlyList<Ports.InventoryItem> listed)
    {
        var rows = stored.ToList();
        var inStore = rows.Select(r => r.Id).ToHashSet(StringComparer.Ordinal);
        var inProvider = listed.Select(i => i.Id).Where(id => !id.StartsWith(ShellboxLimits.GoldenSnapshotPrefix, StringComparison.OrdinalIgnoreCase))
            .ToHashSet(StringComparer.Ordinal);

        // A row still being created may not be listed yet: that is not a ghost.
        var ghosts = rows.Where(r => r.Status != ResourceStatuses.Creating && !inProvider.Contains(r.Id)).Select(r => r.Id).Order(StringComparer.Ordinal).ToList();
        return new PoolDrift(role, inProvider.Count, inProvider.Where(id => !inStore.Contains(id)).Order(StringComparer.Ordinal).ToList(), ghosts);
    }
}
