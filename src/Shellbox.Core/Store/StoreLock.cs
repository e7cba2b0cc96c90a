using Shellbox.Core.Errors;
using Shellbox.Core.Model;
using Shellbox.Core.Ports;

namespace Shellbox.Core.Store;

/// <summary>
/// One holder at a time for a named lock, by conditional writes on a <see cref="LockRecord"/>: a loser
/// gets null and returns quietly; an expired lock is taken over.
/// </summary>
public static class StoreLock
{
    public static async Task<LockRecord?> TryAcquireAsync(IPoolStore store, string name, string holder, DateTimeOffset now, TimeSpan duration, CancellationToken cancellationToken = default)
    {
        var wanted = new LockRecord { Id = name, Holder = holder, ExpiresAt = now + duration };
        try
        {
            var existing = await store.GetAsync<LockRecord>(name, cancellationToken).ConfigureAwait(false);
            if (existing is null)
            {
                return await store.InsertAsync(wanted, cancellationToken).ConfigureAwait(false);
            }

            return existing.ExpiresAt <= now || existing.Holder == holder
                ? await store.ReplaceAsync(wanted with { ETag = existing.ETag }, cancellationToken).ConfigureAwait(false)
                : null;
        }
        catch (StoreConflictException)
        {
            return null;
        }
    }

    public static async Task ReleaseAsync(IPoolStore store, LockRecord held, CancellationToken cancellationToken = default)
    {
        try
        {
            await store.DeleteAsync(held, cancellationToken).ConfigureAwait(false);
        }
        catch (StoreConflictException)
        {
            // Taken over after expiry: it is not ours to delete any more.
        }
    }
}
