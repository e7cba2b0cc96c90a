using Shellbox.Core.Model;
using Shellbox.Core.Ports;
using Shellbox.Core.Store;

namespace Shellbox.Core.Tests.Flows;

/// <summary>The real store, counting the rows each read hands back: what a connect costs as the store grows.</summary>
public sealed class CountingStore(IPoolStore inner) : IPoolStore
{
    private int rowsRead;
    private int snapshots;

    /// <summary>Rows returned by point reads, candidate queries and snapshots since the last <see cref="Reset"/>.</summary>
    public int RowsRead => Volatile.Read(ref rowsRead);

    /// <summary>Whole-store reads since the last <see cref="Reset"/>.</summary>
    public int Snapshots => Volatile.Read(ref snapshots);

    public void Reset()
    {
        Interlocked.Exchange(ref rowsRead, 0);
        Interlocked.Exchange(ref snapshots, 0);
    }

    public async Task<PoolSnapshot> ReadSnapshotAsync(CancellationToken cancellationToken = default)
    {
        var snapshot = await inner.ReadSnapshotAsync(cancellationToken);
        Interlocked.Increment(ref snapshots);
        Interlocked.Add(ref rowsRead, snapshot.Instances.Count + snapshot.Volumes.Count + snapshot.Boxes.Count);
        return snapshot;
    }

    public async Task<T?> GetAsync<T>(string id, CancellationToken cancellationToken = default)
        where T : StoreRecord
    {
        var row = await inner.GetAsync<T>(id, cancellationToken);
        Interlocked.Add(ref rowsRead, row is null ? 0 : 1);
        return row;
    }

    public async Task<IReadOnlyList<T>> FindCandidatesAsync<T>(Candidates which, int max = ShellboxLimits.MaxQueryResults, CancellationToken cancellationToken = default)
        where T : StoreRecord
    {
        var rows = await inner.FindCandidatesAsync<T>(which, max, cancellationToken);
        Interlocked.Add(ref rowsRead, rows.Count);
        return rows;
    }

    public async Task<IReadOnlyList<BoxRecord>> ListBoxesAsync(string userId, CancellationToken cancellationToken = default)
    {
        var rows = await inner.ListBoxesAsync(userId, cancellationToken);
        Interlocked.Add(ref rowsRead, rows.Count);
        return rows;
    }

    public Task<IReadOnlyList<StoreRecord>> CommitAsync(IReadOnlyList<StoreWrite> writes, CancellationToken cancellationToken = default) =>
        inner.CommitAsync(writes, cancellationToken);

    public Task AppendEventAsync(PoolEvent poolEvent, CancellationToken cancellationToken = default) => inner.AppendEventAsync(poolEvent, cancellationToken);

    public Task<IReadOnlyList<PoolEvent>> ReadEventsAsync(int max, CancellationToken cancellationToken = default) => inner.ReadEventsAsync(max, cancellationToken);

    public Task<IReadOnlyList<PoolEvent>> QueryEventsAsync(Shellbox.Core.Observability.EventQuery query, CancellationToken cancellationToken = default) => inner.QueryEventsAsync(query, cancellationToken);

    public Task<int> PruneEventsAsync(DateTimeOffset oldestKept, int keepNewest, CancellationToken cancellationToken = default) => inner.PruneEventsAsync(oldestKept, keepNewest, cancellationToken);
}
