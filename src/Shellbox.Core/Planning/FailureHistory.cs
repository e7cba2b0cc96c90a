namespace Shellbox.Core.Planning;

/// <summary>
/// Consecutive create failures of one role and when the last one happened. After
/// <see cref="BackOffThreshold"/> of them the planner stops creating for a doubling window, so a broken
/// provider or quota is not hammered every pass.
/// </summary>
public sealed record FailureHistory(int ConsecutiveFailures, DateTimeOffset LastFailure)
{
    public const int BackOffThreshold = 3;

    public static readonly TimeSpan MaxBackOff = TimeSpan.FromMinutes(30);

    public static FailureHistory None { get; } = new(0, DateTimeOffset.MinValue);

    /// <summary>
    /// When creates may resume: LastFailure + min(checkInterval * 2^(failures - 2), 30 minutes);
    /// null below the threshold.
    /// </summary>
    public DateTimeOffset? BackOffUntil(TimeSpan checkInterval)
    {
        if (ConsecutiveFailures < BackOffThreshold)
        {
            return null;
        }

        // Doubling by a loop, not Math.Pow: it stops at the cap, so a huge count cannot overflow.
        var window = checkInterval > TimeSpan.Zero ? checkInterval : TimeSpan.Zero;
        var doublings = ConsecutiveFailures - BackOffThreshold + 1;
        for (var i = 0; i < doublings && window > TimeSpan.Zero && window < MaxBackOff; i++)
        {
            window += window;
        }

        return SaturatingTime.Add(LastFailure, window < MaxBackOff ? window : MaxBackOff);
    }
}
