namespace Shellbox.Core.Store;

/// <summary>
/// What a claim looks for. Each store keeps the class of every row (from <see cref="StoreIndex.CandidateOf"/>)
/// in an indexed column, so a connect finds a few candidates without reading the whole pool.
/// Stored by name: never renumber or rename a member without migrating the stores.
/// </summary>
public enum Candidates
{
    /// <summary>A free instance with a free volume attached and its box running: half of a ready pair.</summary>
    ReadyPairInstances,

    /// <summary>A free instance with nothing attached and nothing running, unleased.</summary>
    BareFreeInstances,

    /// <summary>A free, unowned, unattached, unleased volume (a golden clone in the pool).</summary>
    LooseFreeVolumes,

    /// <summary>A user the operator blocked (Get-ShellboxUser -Blocked): found by index, not by reading every row.</summary>
    BlockedUsers,
}
