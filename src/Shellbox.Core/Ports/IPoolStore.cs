using Shellbox.Core.Model;
using Shellbox.Core.Observability;
using Shellbox.Core.Store;

namespace Shellbox.Core.Ports;

/// <summary>
/// Fast authoritative pool state with optimistic concurrency. Every write is conditional on the ETag
/// the row was read with; <see cref="CommitAsync"/> applies a set of writes all together or not at all,
/// so a claim of an instance, a volume and a box can never be half done.
/// Implementations: SQLite (Local) and Table Storage (Azure); both pass the store contract tests.
/// </summary>
public interface IPoolStore
{
    /// <summary>Every instance, volume and box as of one moment. Reconcile only: its cost grows with every box.</summary>
    Task<PoolSnapshot> ReadSnapshotAsync(CancellationToken cancellationToken = default);

    /// <summary>One row by kind and id, or null.</summary>
    Task<T?> GetAsync<T>(string id, CancellationToken cancellationToken = default)
        where T : StoreRecord;

    /// <summary>
    /// At most <paramref name="max"/> rows of one candidate class (<see cref="StoreIndex.CandidateOf"/>), found
    /// through the store's index whatever the number of rows, and returned oldest <c>LastUsed</c> first. A store
    /// that cannot order by the index (Table Storage) sorts the rows it read. <typeparamref name="T"/> must be the
    /// record type of the class.
    /// </summary>
    Task<IReadOnlyList<T>> FindCandidatesAsync<T>(Candidates which, int max = ShellboxLimits.MaxQueryResults, CancellationToken cancellationToken = default)
        where T : StoreRecord;

    /// <summary>
    /// The boxes of one user, by name: a range read of the ids "&lt;userId&gt;.*", whatever the number of other
    /// users' boxes (what `ssh HOST list` and Get-ShellboxBox read).
    /// </summary>
    Task<IReadOnlyList<BoxRecord>> ListBoxesAsync(string userId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Applies the writes atomically. Throws <see cref="Errors.StoreConflictException"/> if any row's
    /// ETag no longer matches (or an inserted row exists), naming that row in its key; then nothing was written. Returns the written
    /// records with their new ETags, in order (deletes return the deleted record).
    /// </summary>
    Task<IReadOnlyList<StoreRecord>> CommitAsync(IReadOnlyList<StoreWrite> writes, CancellationToken cancellationToken = default);

    Task AppendEventAsync(PoolEvent poolEvent, CancellationToken cancellationToken = default);

    /// <summary>The newest events first, at most <paramref name="max"/>.</summary>
    Task<IReadOnlyList<PoolEvent>> ReadEventsAsync(int max, CancellationToken cancellationToken = default);

    /// <summary>
    /// The newest events that match every filter of <paramref name="query"/>, at most its Max, found whatever
    /// the number of other events (an index or a server-side filter, not a window of the newest).
    /// </summary>
    Task<IReadOnlyList<PoolEvent>> QueryEventsAsync(EventQuery query, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes the events written before <paramref name="oldestKept"/> and all but the newest
    /// <paramref name="keepNewest"/>; returns how many were deleted.
    /// </summary>
    Task<int> PruneEventsAsync(DateTimeOffset oldestKept, int keepNewest, CancellationToken cancellationToken = default);
}

public enum StoreWriteKind
{
    Insert,
    Replace,
    Delete,
}

/// <summary>One conditional write: insert (must not exist), replace or delete (ETag must match).</summary>
public sealed record StoreWrite(StoreWriteKind Kind, StoreRecord Record)
{
    public static StoreWrite Insert(StoreRecord record) => new(StoreWriteKind.Insert, record);

    public static StoreWrite Replace(StoreRecord record) => new(StoreWriteKind.Replace, record);

    public static StoreWrite Delete(StoreRecord record) => new(StoreWriteKind.Delete, record);
}
