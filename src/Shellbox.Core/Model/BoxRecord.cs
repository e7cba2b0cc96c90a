using Shellbox.Core.Lifecycle;

namespace Shellbox.Core.Model;

/// <summary>What a user sees: (user, box name) mapped to a volume.</summary>
public sealed record BoxRecord : StoreRecord
{
    public override string Kind => "box";

    public required string UserId { get; init; }

    public required string BoxName { get; init; }

    public required string VolumeId { get; init; }

    public required DateTimeOffset Created { get; init; }

    public DateTimeOffset? LastConnected { get; init; }

    /// <summary>Sessions connected now, each alive until its heartbeat stops; the last one out suspends the box.</summary>
    public IReadOnlyList<BoxSession> Sessions { get; init; } = [];

    /// <summary>The instance the box runs on while attached (connected or lingering).</summary>
    public string? InstanceId { get; init; }

    /// <summary>
    /// Set while a transition moves the box (the last session out releasing it, a removal): a connect waits for it
    /// to clear, and reconcile finishes or undoes it once it has expired. Replaces the old "suspending" flag.
    /// </summary>
    public TransitionMark? Mark { get; init; }

    /// <summary>When a lingering box (no sessions, still attached) is detached.</summary>
    public DateTimeOffset? LingerUntil { get; init; }

    /// <summary>The owner's keepalive: how long the box keeps running after its last session leaves (null: suspend at once).</summary>
    public TimeSpan? Keepalive { get; init; }

    /// <summary>Set by the last session out while <see cref="Keepalive"/> is in force: the box runs with no session until then.</summary>
    public DateTimeOffset? KeptAliveUntil { get; init; }

    public int Connections => Sessions.Count;

    public IReadOnlyList<BoxSession> LiveSessions(DateTimeOffset now) => Sessions.Where(s => s.ExpiresAt > now).ToList();

    public static string IdFor(string userId, string boxName) => $"{userId}.{boxName}";

    /// <summary>The ids of one user's boxes lie in [from, to): "&lt;userId&gt;." up to "&lt;userId&gt;/" ('/' follows '.').</summary>
    public static (string From, string To) IdRangeOf(string userId) => ($"{userId}.", $"{userId}/");
}

/// <summary>One connected session of a box, kept alive by its heartbeat.</summary>
public sealed record BoxSession(string Id, DateTimeOffset ExpiresAt, string CorrelationId);
