using Shellbox.Core.Model;
using Shellbox.Core.Observability;
using Shellbox.Core.Planning;
using Shellbox.Core.Ports;

namespace Shellbox.Core.Engine;

/// <summary>
/// What the planner needs to remember between passes, derived from the event log rather than kept in
/// memory, so a scheduled runbook (a new process each time) backs off and cools down like a loop does.
/// Read by kind and role, never from a window of the newest events: a busy pool writes a connect event
/// per session, and those must not push its last scale-down or its failures out of sight.
/// </summary>
public static class PoolHistory
{
    public const string CreateEvent = "create";
    public const string ScaleDownEvent = "scale-down";

    /// <summary>
    /// How many creates of a role are read to count consecutive failures: past a few the back-off is at
    /// its 30-minute cap anyway.
    /// </summary>
    public const int FailureWindow = 20;

    /// <summary>The planner's memory for both roles, in four indexed queries whatever the size of the log.</summary>
    public static async Task<PlannerHistory> ReadAsync(IPoolStore store, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        Task<IReadOnlyList<PoolEvent>> Read(string kind, string role) =>
            store.QueryEventsAsync(new EventQuery { Kind = kind, Role = role, Max = FailureWindow }, cancellationToken);

        var instanceCreates = Read(CreateEvent, ResourceRoles.Instance);
        var volumeCreates = Read(CreateEvent, ResourceRoles.Volume);
        var instanceScaleDowns = Read(ScaleDownEvent, ResourceRoles.Instance);
        var volumeScaleDowns = Read(ScaleDownEvent, ResourceRoles.Volume);
        await Task.WhenAll(instanceCreates, volumeCreates, instanceScaleDowns, volumeScaleDowns).ConfigureAwait(false);
        return new PlannerHistory(
            LastScaleDown(instanceScaleDowns.Result, ResourceRoles.Instance),
            LastScaleDown(volumeScaleDowns.Result, ResourceRoles.Volume),
            Failures(instanceCreates.Result, ResourceRoles.Instance),
            Failures(volumeCreates.Result, ResourceRoles.Volume));
    }

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
