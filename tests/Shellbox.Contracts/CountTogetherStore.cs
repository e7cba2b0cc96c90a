using Shellbox.Core.Model;
using Shellbox.Core.Observability;
using Shellbox.Core.Ports;
using Shellbox.Core.Store;

namespace Shellbox.Contracts;

/// <summary>
/// A store whose first <paramref name="readers"/> snapshot reads all return only once every one of them has read:
/// creators that count the pool this way all count the same pool before any of them commits, the interleaving a
/// capacity check must survive. Later reads and every other call go straight through.
/// </summary>
public sealed class CountTogetherStore(IPoolStore inner, int readers) : IPoolStore
{
    private readonly TaskCompletionSource allRead = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int read;

    public async Task<PoolSnapshot> ReadSnapshotAsync(CancellationToken cancellationToken = default)
    {
        var snapshot = await inner.ReadSnapshotAsync(cancellationToken);
        var n = Interlocked.Increment(ref read);
        if (n == readers)
        {
            allRead.TrySetResult();
        }

        if (n <= readers)
        {
            await allRead.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        }

        return snapshot;
    }

    public Task<T?> GetAsync<T>(string id, CancellationToken cancellationToken = default)
        where T : StoreRecord => inner.GetAsync<T>(id, cancellationToken);

    public Task<IReadOnlyList<T>> FindCandidatesAsync<T>(Candidates which, int max = ShellboxLimits.MaxQueryResults, CancellationToken cancellationToken = default)
        where T : StoreRecord => inner.FindCandidatesAsync<T>(which, max, cancellationToken);

    public Task<IReadOnlyList<BoxRecord>> ListBoxesAsync(string userId, CancellationToken cancellationToken = default) => inner.ListBoxesAsync(userId, cancellationToken);

    public Task<IReadOnlyList<StoreRecord>> CommitAsync(IReadOnlyList<StoreWrite> writes, CancellationToken cancellationToken = default) => inner.CommitAsync(writes, cancellationToken);

    public Task AppendEventAsync(PoolEvent poolEvent, CancellationToken cancellationToken = default) => inner.AppendEventAsync(poolEvent, cancellationToken);

    public Task<IReadOnlyList<PoolEvent>> ReadEventsAsync(int max, CancellationToken cancellationToken = default) => inner.ReadEventsAsync(max, cancellationToken);

    public Task<IReadOnlyList<PoolEvent>> QueryEventsAsync(EventQuery query, CancellationToken cancellationToken = default) => inner.QueryEventsAsync(query, cancellationToken);

    public Task<int> PruneEventsAsync(DateTimeOffset oldestKept, int keepNewest, CancellationToken cancellationToken = default) => inner.PruneEventsAsync(oldestKept, keepNewest, cancellationToken);
}
