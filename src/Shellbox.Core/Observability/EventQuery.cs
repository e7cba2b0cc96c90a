namespace Shellbox.Core.Observability;

/// <summary>
/// Which events to read, newest first: every filter that is set must match. A store answers it through an
/// index on kind (SQLite) or a server-side filter (Table Storage), so a busy pool's many connect events do
/// not crowd out the few scale-downs and failures the planner needs.
/// </summary>
public sealed record EventQuery
{
    public const int DefaultMax = 50;

    /// <summary>The event kind ("create", "scale-down", "connect", ...); null for any.</summary>
    public string? Kind { get; init; }

    /// <summary>The role the event is about (instance, volume, box); null for any.</summary>
    public string? Role { get; init; }

    /// <summary>The resource or box id the event is about; null for any.</summary>
    public string? ResourceId { get; init; }

    /// <summary>At most this many events are returned.</summary>
    public int Max { get; init; } = DefaultMax;
}
