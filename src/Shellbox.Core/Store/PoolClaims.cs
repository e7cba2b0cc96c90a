using Shellbox.Core.Errors;
using Shellbox.Core.Model;
using Shellbox.Core.Ports;

namespace Shellbox.Core.Store;

/// <summary>
/// Claims on top of conditional writes: read the candidates, try to take one with an ETag-guarded
/// write, and on a lost race move to the next. Two callers can never both win one row, because only
/// one conditional write against a given ETag can succeed.
/// </summary>
public static class PoolClaims
{
    /// <summary>
    /// Tries candidates in order (<paramref name="candidates"/> reads them fresh each round) and commits
    /// <paramref name="take"/>'s writes for the first one not lost to another caller. Returns the
    /// committed records, or null when no candidate is left.
    /// </summary>
    public static async Task<IReadOnlyList<StoreRecord>?> ClaimFirstAsync<T>(
        IPoolStore store,
        Func<PoolSnapshot, IEnumerable<T>> candidates,
        Func<T, PoolSnapshot, IReadOnlyList<StoreWrite>> take,
        CancellationToken cancellationToken = default)
    {
        // Each lost race removes at least one candidate for good (its ETag moved on), so the loop ends.
        var lost = new HashSet<string>();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var snapshot = await store.ReadSnapshotAsync(cancellationToken).ConfigureAwait(false);
            var writes = candidates(snapshot)
                .Select(c => take(c, snapshot))
                .FirstOrDefault(w => !lost.Contains(Signature(w)));
            if (writes is null)
            {
                return null;
            }

            try
            {
                return await store.CommitAsync(writes, cancellationToken).ConfigureAwait(false);
            }
            catch (StoreConflictException)
            {
                lost.Add(Signature(writes));
            }
        }
    }

    private static string Signature(IReadOnlyList<StoreWrite> writes) =>
        string.Join("|", writes.Select(w => $"{w.Record.Key}@{w.Record.ETag}"));
}
