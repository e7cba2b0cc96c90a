using Shellbox.Core.Errors;
using Shellbox.Core.Model;
using Shellbox.Core.Ports;

namespace Shellbox.Core.Store;

/// <summary>
/// One holder at a time for a named lock, by conditional writes on a <see cref="LockRecord"/>: a loser
/// learns who holds it and returns quietly; an expired lock is taken over.
/// </summary>
public static class StoreLock
{
    public static async Task<LockAttempt> TryAcquireAsync(IPoolStore store, string name, string holder, DateTimeOffset now, TimeSpan duration, CancellationToken cancellationToken = default)
    {
        var wanted = new LockRecord { Id = name, Holder = holder, ExpiresAt = now + duration };
        LockRecord? existing = null;
        try
        {
            existing = await store.GetAsync<LockRecord>(name, cancellationToken).ConfigureAwait(false);
            if (existing is null)
            {
                return new LockAttempt(await store.InsertAsync(wanted, cancellationToken).ConfigureAwait(false), null);
            }

            return existing.ExpiresAt <= now || existing.Holder == holder
                ? new LockAttempt(await store.ReplaceAsync(wanted with { ETag = existing.ETag }, cancellationToken).ConfigureAwait(false), null)
                : new LockAttempt(null, existing);
        }
        catch (StoreConflictException)
        {
            // Another caller wrote the row between our read and our write: it won; name it when we can.
            var winner = await store.GetAsync<LockRecord>(name, cancellationToken).ConfigureAwait(false);
            return new LockAttempt(null, winner ?? existing);
        }
    }

    public static async Task ReleaseAsync(IPoolStore store, LockRecord held, CancellationToken cancellationToken = default)
    {
        try
        {
            await store.DeleteAsync(held, cancellationToken).ConfigureAwait(false);
        }
        catch (StoreConflictException e)
        {
            // Taken over after expiry: it is not ours to delete any more.
            Observability.ShellboxLog.Dropped("Shellbox.Core.StoreLock", $"lock={held.Id} was taken over after its expiry; left to its new holder", e);
        }
    }
}

/// <summary>The outcome of <see cref="StoreLock.TryAcquireAsync"/>: the lock now held, or the row of the caller that holds it.</summary>
/// <param name="Held">Our lock row (release it with <see cref="StoreLock.ReleaseAsync"/>); null when we lost.</param>
/// <param name="HeldBy">When we lost: the holder's row (null if it was released again before we could read it).</param>
public sealed record LockAttempt(LockRecord? Held, LockRecord? HeldBy)
{
    public bool Acquired => Held is not null;
}
