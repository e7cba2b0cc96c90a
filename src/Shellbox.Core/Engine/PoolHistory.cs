using Shellbox.Core.Model;
using Shellbox.Core.Planning;

namespace Shellbox.Core.Engine;

/// <summary>
/// What the planner needs to remember between passes, derived from the event log rather than kept in
/// memory, so a scheduled runbook (a new process each time) backs off and cools down like a loop does.
/// </summary>
public static class PoolHistory
{
    public const string CreateEvent = "create";
    public const string ScaleDownEvent = "scale-down";

    /// <summary>Consecutive failed creates of the role, newest first, until the first success.</summary>
    public static FailureHistory? Failures(IReadOnlyList<PoolEvent> newestFirst, string role)
    {
        var creates = newestFirst.Where(e => e.Kind == CreateEvent && e.Role == role).ToList();
        var failed = creates.TakeWhile(e => !e.Succeeded).ToList();
        return failed.Count == 0 ? null : new FailureHistory(failed.Count, failed[0].Timestamp);
    }

    public static DateTimeOffset? LastScaleDown(IReadOnlyList<PoolEvent> newestFirst, string role) =>
        newestFirst.FirstOrDefault(e => e.Kind == ScaleDownEvent && e.Role == role && e.Succeeded)?.Timestamp;
}
