namespace Shellbox.Core.Model;

/// <summary>
/// A claim on an instance or volume with an expiry. The holder renews it by heartbeat; a holder that
/// dies leaves a lease that reconcile reclaims once <see cref="ExpiresAt"/> has passed.
/// </summary>
public sealed record Lease(string Holder, DateTimeOffset ExpiresAt, string CorrelationId)
{
    public bool IsExpired(DateTimeOffset now) => now >= ExpiresAt;
}
