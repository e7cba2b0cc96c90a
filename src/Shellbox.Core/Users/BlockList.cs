using Shellbox.Core.Boxes;
using Shellbox.Core.Engine;
using Shellbox.Core.Errors;
using Shellbox.Core.Model;
using Shellbox.Core.Store;

namespace Shellbox.Core.Users;

/// <summary>
/// The users (public keys) the operator has blocked, kept in the pool store so the ssh wrapper on the bastion
/// and the operator's prompt read the same list. A block refuses every ssh verb; it does not remove boxes.
/// </summary>
public sealed class BlockList(ShellboxEngine engine)
{
    /// <summary>The most blocked users one listing returns.</summary>
    public const int MaxListed = 1000;

    /// <summary>The user's row, or null for an ordinary (never blocked, or unblocked) user. One point read.</summary>
    public Task<UserRecord?> GetAsync(string userId, CancellationToken cancellationToken = default) =>
        engine.Store.GetAsync<UserRecord>(BoxNames.ValidateUser(userId), cancellationToken);

    /// <summary>Blocks the user; blocking a blocked user keeps the first block's time and updates the reason.</summary>
    public async Task<UserRecord> BlockAsync(string userId, string? reason, CancellationToken cancellationToken = default)
    {
        var correlation = engine.Ids.NewCorrelationId();
        var record = await ConflictRetry.RunAsync(async () =>
        {
            var current = await GetAsync(userId, cancellationToken).ConfigureAwait(false);
            return current is null
                ? await engine.Store.InsertAsync(new UserRecord { Id = userId, BlockedAt = engine.Time.GetUtcNow(), BlockReason = reason }, cancellationToken).ConfigureAwait(false)
                : await engine.Store.ReplaceAsync(current with { BlockedAt = current.BlockedAt ?? engine.Time.GetUtcNow(), BlockReason = reason ?? current.BlockReason }, cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
        await engine.Store.AppendEventAsync(new PoolEvent(engine.Time.GetUtcNow(), correlation, "block", UserRecord.KindName, userId, true, reason is null ? $"blocked user {userId}" : $"blocked user {userId}: {reason}"), cancellationToken).ConfigureAwait(false);
        return record;
    }

    /// <summary>Unblocks the user; false when the user was not blocked (nothing changed, no event).</summary>
    public async Task<bool> UnblockAsync(string userId, CancellationToken cancellationToken = default)
    {
        var correlation = engine.Ids.NewCorrelationId();
        var removed = await ConflictRetry.RunAsync(async () =>
        {
            var current = await GetAsync(userId, cancellationToken).ConfigureAwait(false);
            if (current is null)
            {
                return false;
            }

            await engine.Store.DeleteAsync(current, cancellationToken).ConfigureAwait(false);
            return true;
        }, cancellationToken).ConfigureAwait(false);
        if (removed)
        {
            await engine.Store.AppendEventAsync(new PoolEvent(engine.Time.GetUtcNow(), correlation, "unblock", UserRecord.KindName, userId, true, $"unblocked user {userId}"), cancellationToken).ConfigureAwait(false);
        }

        return removed;
    }

    /// <summary>The blocked users, longest blocked first, through the store's candidate index (never a whole-store read).</summary>
    public Task<IReadOnlyList<UserRecord>> ListBlockedAsync(CancellationToken cancellationToken = default) =>
        engine.Store.FindCandidatesAsync<UserRecord>(Candidates.BlockedUsers, MaxListed, cancellationToken);
}
