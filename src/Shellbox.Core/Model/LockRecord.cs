namespace Shellbox.Core.Model;

/// <summary>
/// A named mutual-exclusion row (e.g. "reconcile"): held by one caller until it expires, so a crashed
/// holder never blocks the others for longer than <see cref="ExpiresAt"/>.
/// </summary>
public sealed record LockRecord : StoreRecord
{
    public const string KindName = "lock";

    public override string Kind => KindName;

    public required string Holder { get; init; }

    public required DateTimeOffset ExpiresAt { get; init; }
}
