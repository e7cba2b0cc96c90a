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

    /// <summary>Sessions connected now; the last one out suspends the box.</summary>
    public int Connections { get; init; }

    /// <summary>The instance the box runs on while attached (connected or lingering).</summary>
    public string? InstanceId { get; init; }

    /// <summary>When a lingering box (no connections, still attached) is detached.</summary>
    public DateTimeOffset? LingerUntil { get; init; }

    public static string IdFor(string userId, string boxName) => $"{userId}.{boxName}";
}
