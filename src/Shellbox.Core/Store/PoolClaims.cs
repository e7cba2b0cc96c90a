using Shellbox.Core.Errors;
using Shellbox.Core.Ports;

namespace Shellbox.Core.Store;

/// <summary>
/// Claims on top of conditional writes: read a few candidates (an index query and point reads, never the
/// whole pool), try to take one with an ETag-guarded write, and on a lost race move to the next. Two
/// callers can never both win one row, because only one conditional write against a given ETag succeeds.
/// </summary>
public static class PoolClaims
{
    /// <summary>
    /// Tries candidates in order (<paramref name="candidates"/> reads them fresh each round) and commits
    /// <paramref name="take"/>'s writes for the first one not lost to another caller. Returns the named
    /// result of the commit, or null when no candidate is left. A conflict on a row that is not the
    /// candidate's (<see cref="ClaimAttempt{TClaim}.Contended"/>) is thrown: the caller decides again.
    /// </summary>
    public static async Task<TClaim?> ClaimFirstAsync<TCandidate, TClaim>(
        IPoolStore store,
        Func<CancellationToken, IAsyncEnumerable<TCandidate>> candidates,
        Func<TCandidate, ClaimAttempt<TClaim>> take,
        CancellationToken cancellationToken = default)
        where TClaim : class
    {
        // Each lost race removes one row version for good (its ETag moved on), so the loop ends.
        var lost = new HashSet<string>(StringComparer.Ordinal);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var attempt = await FirstNotLostAsync(candidates(cancellationToken), take, lost).ConfigureAwait(false);
            if (attempt is null)
            {
                return null;
            }

            try
            {
                var written = await store.CommitAsync(attempt.Writes, cancellationToken).ConfigureAwait(false);
                return attempt.Result(new CommittedRows(written));
            }
            catch (StoreConflictException e)
            {
                var row = attempt.Contended.FirstOrDefault(r => r.Key == e.Key);
                if (row is null)
                {
                    throw;
                }

                lost.Add(Version(row));
            }
        }
    }

    private static async Task<ClaimAttempt<TClaim>?> FirstNotLostAsync<TCandidate, TClaim>(
        IAsyncEnumerable<TCandidate> candidates, Func<TCandidate, ClaimAttempt<TClaim>> take, HashSet<string> lost)
    {
        await foreach (var candidate in candidates.ConfigureAwait(false))
        {
            var attempt = take(candidate);
            if (!attempt.Contended.Any(r => lost.Contains(Version(r))))
            {
                return attempt;
            }
        }

        return null;
    }

    private static string Version(Model.StoreRecord row) => $"{row.Key}@{row.ETag}";
}
