using Shellbox.Core.Engine;
using Shellbox.Core.Model;
using Shellbox.Core.Ports;
using Shellbox.Core.Store;

namespace Shellbox.Core.Boxes;

/// <summary>
/// Keeps one session alive: renews its entry on the box and the instance lease. A session whose holder
/// dies stops renewing, and reconcile reclaims the box once the lease has expired.
/// </summary>
public static class SessionHeartbeat
{
    /// <summary>Renews the session; false when the session is gone (reclaimed or disconnected).</summary>
    public static Task<bool> BeatAsync(ShellboxEngine engine, string boxId, string sessionId, CancellationToken cancellationToken = default) =>
        ConflictRetry.RunAsync(async () =>
        {
            var now = engine.Time.GetUtcNow();
            var expires = now + engine.Settings.LeaseDuration;
            var box = await engine.Store.GetAsync<BoxRecord>(boxId, cancellationToken).ConfigureAwait(false);
            if (box?.InstanceId is null || box.Sessions.All(s => s.Id != sessionId))
            {
                return false;
            }

            var instance = await engine.Store.GetAsync<InstanceRecord>(box.InstanceId, cancellationToken).ConfigureAwait(false);
            var writes = new List<StoreWrite>
            {
                StoreWrite.Replace(box with { Sessions = box.Sessions.Select(s => s.Id == sessionId ? s with { ExpiresAt = expires } : s).ToList() }),
            };
            if (instance?.Lease is { } lease && lease.Holder == boxId && lease.ExpiresAt < expires)
            {
                writes.Add(StoreWrite.Replace(instance with { Lease = lease with { ExpiresAt = expires } }));
            }

            await engine.Store.CommitAsync(writes, cancellationToken).ConfigureAwait(false);
            return true;
        }, cancellationToken);
}
