using Shellbox.Core.Model;
using Shellbox.Core.Ports;
using Shellbox.Core.Store;

namespace Shellbox.Core.Tests.Flows;

/// <summary>The real store with <see cref="BeforeCommit"/>: lets a test run a rival between a flow's read and its write.</summary>
public sealed class HookedStore(IPoolStore inner) : IPoolStore
{
    public Func<IReadOnlyList<StoreWrite>, Task>? BeforeCommit { get; set; }

    public Task<PoolSnapshot> ReadSnapshotAsync(CancellationToken cancellationToken = default) => inner.ReadSnapshotAsync(cancellationToken);

    public Task<T?> GetAsync<T>(string id, CancellationToken cancellationToken = default)
        where T : StoreRecord => inner.GetAsync<T>(id, cancellationToken);

    public Task<IReadOnlyList<T>> FindCandidatesAsync<T>(Candidates which, int max = ShellboxLimits.MaxQueryResults, CancellationToken cancellationToken = default)
        where T : StoreRecord => inner.FindCandidatesAsync<T>(which, max, cancellationToken);

    public Task<IReadOnlyList<BoxRecord>> ListBoxesAsync(string userId, CancellationToken cancellationToken = default) =>
        inner.ListBoxesAsync(userId, cancellationToken);

    public async Task<IReadOnlyList<StoreRecord>> CommitAsync(IReadOnlyList<StoreWrite> writes, CancellationToken cancellationToken = default)
    {
        if (BeforeCommit is { } hook)
        {
            await hook(writes);
        }

        return await inner.CommitAsync(writes, cancellationToken);
    }

    public Task AppendEventAsync(PoolEvent poolEvent, CancellationToken cancellationToken = default) => inner.AppendEventAsync(poolEvent, cancellationToken);

    public Task<IReadOnlyList<PoolEvent>> ReadEventsAsync(int max, CancellationToken cancellationToken = default) => inner.ReadEventsAsync(max, cancellationToken);

    public Task<IReadOnlyList<PoolEvent>> QueryEventsAsync(Shellbox.Core.Observability.EventQuery query, CancellationToken cancellationToken = default) => inner.QueryEventsAsync(query, cancellationToken);

    public Task<int> PruneEventsAsync(DateTimeOffset oldestKept, int keepNewest, CancellationToken cancellationToken = default) => inner.PruneEventsAsync(oldestKept, keepNewest, cancellationToken);
}
