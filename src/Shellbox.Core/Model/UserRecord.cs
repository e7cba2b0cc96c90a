namespace Shellbox.Core.Model;

/// <summary>
/// What the operator decided about one user (a public key): today only a block. A user with no row is an
/// ordinary user; unblocking deletes the row, so the store holds a row per blocked user and no more.
/// </summary>
public sealed record UserRecord : StoreRecord
{
    public const string KindName = "user";

    public override string Kind => KindName;

    /// <summary>When the operator blocked the user; null when not blocked.</summary>
    public DateTimeOffset? BlockedAt { get; init; }

    /// <summary>The operator's note on why, shown at the operator's prompt only (never to the blocked user).</summary>
    public string? BlockReason { get; init; }

    public bool IsBlocked => BlockedAt is not null;
}
