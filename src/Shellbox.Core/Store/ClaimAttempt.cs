using Shellbox.Core.Model;
using Shellbox.Core.Ports;

namespace Shellbox.Core.Store;

/// <summary>
/// The writes that take one candidate, and how to name what they wrote. <see cref="Contended"/> are the
/// candidate's own rows: a conflict on one of them is a lost race (try the next candidate); a conflict on
/// any other row (the box being inserted or moved) is not, and ends the claim with that conflict.
/// </summary>
public sealed record ClaimAttempt<TClaim>(
    IReadOnlyList<StoreRecord> Contended,
    IReadOnlyList<StoreWrite> Writes,
    Func<CommittedRows, TClaim> Result);

/// <summary>Rows a commit wrote, found by the record they were written from (never by position).</summary>
public sealed class CommittedRows(IReadOnlyList<StoreRecord> written)
{
    /// <summary>The written form (new ETag) of <paramref name="record"/>.</summary>
    public T Of<T>(T record)
        where T : StoreRecord =>
        (T)(written.FirstOrDefault(r => r.Key == record.Key)
            ?? throw new InvalidOperationException($"The commit did not write {record.Key}."));
}
