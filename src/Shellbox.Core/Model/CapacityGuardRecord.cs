namespace Shellbox.Core.Model;

/// <summary>
/// The one row every create of an instance or volume rewrites in the same commit as the new resource's row.
/// A creator reads it, counts the pool, and commits conditional on the version it read: two creators that
/// counted the same pool cannot both commit, so the total caps hold however many connects create at once.
/// Deletes never touch it (they only lower the count a creator read).
/// </summary>
public sealed record CapacityGuardRecord : StoreRecord
{
    public const string KindName = "capacity";

    /// <summary>The id of the single guard row.</summary>
    public const string PoolId = "pool";

    public override string Kind => KindName;

    /// <summary>The correlation id of the last create that passed the guard (for an operator reading the row).</summary>
    public required string LastCreator { get; init; }

    public required DateTimeOffset LastCreate { get; init; }
}
