using Shellbox.Core.Errors;
using Shellbox.Core.Model;
using Shellbox.Core.Ports;

namespace Shellbox.Core.Store;

/// <summary>
/// The total caps (<see cref="PoolConfig.MaxTotalInstances"/>, <see cref="PoolConfig.MaxTotalVolumes"/>) made race-safe:
/// every create of an instance or volume row (a connect's slow path, reconcile's scale-up) inserts its "creating" row
/// here, in one commit with the <see cref="CapacityGuardRecord"/> it read before counting the pool. A rival create
/// between that read and the commit moves the guard, so the commit conflicts and the count is taken again: the
/// caps hold under any number of parallel creators. Rows already being created count, since they are rows.
/// </summary>
public static class PoolCapacity
{
    /// <summary>
    /// Inserts <paramref name="rows"/> (new instance and volume rows, each marked creating) if the pool stays within
    /// its caps with all of them, else inserts nothing. The pool is counted from one store snapshot: bounded by the
    /// caps themselves (every box owns one volume, and volumes are capped).
    /// </summary>
    public static async Task<CapacityOutcome> InsertWithinCapsAsync(IPoolStore store, PoolConfig caps, IReadOnlyList<StoreRecord> rows, string creator, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count == 0 || rows.Any(r => r is not InstanceRecord and not VolumeRecord))
        {
            throw new ArgumentException("Only new instance and volume rows pass the capacity guard.", nameof(rows));
        }

        // Each lost round means another create committed (it moved the guard), and creates are capped: this ends.
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var guard = await store.GetAsync<CapacityGuardRecord>(CapacityGuardRecord.PoolId, cancellationToken).ConfigureAwait(false);
            var pool = await store.ReadSnapshotAsync(cancellationToken).ConfigureAwait(false);
            var full = Full(ResourceRoles.Instance, pool.Instances.Count, rows.OfType<InstanceRecord>().Count(), caps.MaxTotalInstances)
                ?? Full(ResourceRoles.Volume, pool.Volumes.Count, rows.OfType<VolumeRecord>().Count(), caps.MaxTotalVolumes);
            if (full is not null)
            {
                return full;
            }

            var passed = new CapacityGuardRecord { Id = CapacityGuardRecord.PoolId, LastCreator = creator, LastCreate = now, ETag = guard?.ETag };
            var writes = new List<StoreWrite> { guard is null ? StoreWrite.Insert(passed) : StoreWrite.Replace(passed) };
            writes.AddRange(rows.Select(StoreWrite.Insert));
            try
            {
                var written = new CommittedRows(await store.CommitAsync(writes, cancellationToken).ConfigureAwait(false));
                return new CapacityOutcome(rows.Select(written.Of).ToList(), null);
            }
            catch (StoreConflictException e) when (e.Key == passed.Key)
            {
                // Another create passed the guard first: count again.
            }
        }
    }

    /// <summary>
    /// A read-only look before a creator holds anything: the cap that would refuse <paramref name="instances"/> more
    /// instances and <paramref name="volumes"/> more volumes now, or null. Only <see cref="InsertWithinCapsAsync"/> decides.
    /// </summary>
    public static async Task<CapacityLimit?> WouldRefuseAsync(IPoolStore store, PoolConfig caps, int instances, int volumes, CancellationToken cancellationToken = default)
    {
        if (instances == 0 && volumes == 0)
        {
            return null;
        }

        var pool = await store.ReadSnapshotAsync(cancellationToken).ConfigureAwait(false);
        return (Full(ResourceRoles.Instance, pool.Instances.Count, instances, caps.MaxTotalInstances)
            ?? Full(ResourceRoles.Volume, pool.Volumes.Count, volumes, caps.MaxTotalVolumes))?.Refused;
    }

    private static CapacityOutcome? Full(string role, int total, int adding, int cap) =>
        adding > 0 && total + adding > cap ? new CapacityOutcome([], new CapacityLimit(role, total, cap)) : null;
}

/// <summary>What <see cref="PoolCapacity.InsertWithinCapsAsync"/> did: the rows it inserted, or the cap that refused them.</summary>
public sealed record CapacityOutcome(IReadOnlyList<StoreRecord> Inserted, CapacityLimit? Refused)
{
    public bool AtCapacity => Refused is not null;
}

/// <summary>The cap a create would have passed: <paramref name="Total"/> rows of <paramref name="Role"/> exist, at most <paramref name="Cap"/>.</summary>
public sealed record CapacityLimit(string Role, int Total, int Cap);
