namespace Shellbox.Core.Observability;

/// <summary>
/// How long the event log keeps what happened (shellbox.json <c>events: { maxAgeDays, maxCount }</c>): reconcile
/// drops events older than <see cref="MaxAge"/> and all but the newest <see cref="MaxCount"/>, so the log of a
/// busy pool stays bounded in the store.
/// </summary>
public sealed record EventRetention(TimeSpan MaxAge, int MaxCount)
{
    public static EventRetention Default { get; } = new(TimeSpan.FromDays(30), 10_000);

    /// <summary>Events written before this moment are dropped.</summary>
    public DateTimeOffset OldestKept(DateTimeOffset now) =>
        now - DateTimeOffset.MinValue > MaxAge ? now - MaxAge : DateTimeOffset.MinValue;
}
