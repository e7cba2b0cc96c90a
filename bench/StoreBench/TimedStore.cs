using System.Diagnostics;
using Shellbox.Core.Model;
using Shellbox.Core.Ports;
using Shellbox.Core.Store;

namespace Shellbox.StoreBench;

/// <summary>The store under test, adding up the time spent in each kind of call and the rows read: where a claim's time goes.</summary>
internal sealed class TimedStore(IPoolStore inner) : IPoolStore
{
    private readonly Dictionary<string, List<double>> calls = [];
    private int rowsRead;

    /// <summary>Per call kind, every duration in ms since the last <see cref="Reset"/>.</summary>
    public IReadOnlyDictionary<string, List<double>> Calls => calls;

    /// <summary>Rows handed back by point reads, candidate queries and snapshots since the last <see cref="Reset"/>.</summary>
    public int RowsRead => rowsRead;

    public void Reset()
    {
        calls.Clear();
        rowsRead = 0;
    }

    public Task<PoolSnapshot> ReadSnapshotAsync(CancellationToken cancellationToken = default) => TimeAsync("snapshot", async () =>
    {
        var snapshot = await inner.ReadSnapshotAsync(cancellationToken);
        rowsRead += snapshot.Instances.Count + snapshot.Volumes.Count + snapshot.Boxes.Count;
        return snapshot;
    });

    public Task<T?> GetAsync<T>(string id, CancellationToken cancellationToken = default)
        where T : StoreRecord => TimeAsync($"get {StoreRecordJson.KindOf<T>()}", async () =>
        {
            var row = await inner.GetAsync<T>(id, cancellationToken);
            rowsRead += row is null ? 0 : 1;
            return row;
        });

    public Task<IReadOnlyList<T>> FindCandidatesAsync<T>(Candidates which, int max = ShellboxLimits.MaxQueryResults, CancellationToken cancellationToken = default)
        where T : StoreRecord => TimeAsync("candidates", async () =>
        {
            var rows = await inner.FindCandidatesAsync<T>(which, max, cancellationToken);
            rowsRead += rows.Count;
            return rows;
        });

    public Task<IReadOnlyList<BoxRecord>> ListBoxesAsync(string userId, CancellationToken cancellationToken = default) =>
        TimeAsync("list-boxes", () => inner.ListBoxesAsync(userId, cancellationToken));

    public Task<IReadOnlyList<StoreRecord>> CommitAsync(IReadOnlyList<StoreWrite> writes, CancellationToken cancellationToken = default) =>
        TimeAsync("commit", () => inner.CommitAsync(writes, cancellationToken));

    public Task AppendEventAsync(PoolEvent poolEvent, CancellationToken cancellationToken = default) => inner.AppendEventAsync(poolEvent, cancellationToken);

    public Task<IReadOnlyList<PoolEvent>> ReadEventsAsync(int max, CancellationToken cancellationToken = default) => inner.ReadEventsAsync(max, cancellationToken);

    public Task<IReadOnlyList<PoolEvent>> QueryEventsAsync(Shellbox.Core.Observability.EventQuery query, CancellationToken cancellationToken = default) => inner.QueryEventsAsync(query, cancellationToken);

    public Task<int> PruneEventsAsync(DateTimeOffset oldestKept, int keepNewest, CancellationToken cancellationToken = default) => inner.PruneEventsAsync(oldestKept, keepNewest, cancellationToken);

    private async Task<T> TimeAsync<T>(string name, Func<Task<T>> call)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            return await call();
        }
        finally
        {
            (calls.TryGetValue(name, out var list) ? list : calls[name] = []).Add(clock.Elapsed.TotalMilliseconds);
        }
    }
}
