using Shellbox.Core.Model;

namespace Shellbox.Core.Store;

/// <summary>
/// The one classification of rows into <see cref="Candidates"/>. Every store calls it when it writes a
/// row and keeps the answer beside the row, so no store repeats (or drifts from) these rules.
/// </summary>
public static class StoreIndex
{
    /// <summary>The candidate class of a row, or null when no claim looks for it.</summary>
    public static Candidates? CandidateOf(StoreRecord record) => record switch
    {
        InstanceRecord { IsReadyPairHalf: true } => Candidates.ReadyPairInstances,
        InstanceRecord { IsFree: true, VolumeId: null, BoxRunning: false } => Candidates.BareFreeInstances,
        VolumeRecord { IsFree: true, InstanceId: null } => Candidates.LooseFreeVolumes,
        UserRecord { IsBlocked: true } => Candidates.BlockedUsers,
        _ => null,
    };

    /// <summary>The order candidates are handed out in (oldest first); null for rows with no use time.</summary>
    public static DateTimeOffset? LastUsedOf(StoreRecord record) => record switch
    {
        InstanceRecord i => i.LastUsed,
        VolumeRecord v => v.LastUsed,
        UserRecord u => u.BlockedAt,
        _ => null,
    };

    /// <summary>The row kind every member of <paramref name="which"/> has.</summary>
    public static string KindOf(Candidates which) => which switch
    {
        Candidates.ReadyPairInstances or Candidates.BareFreeInstances => ResourceRoles.Instance,
        Candidates.LooseFreeVolumes => ResourceRoles.Volume,
        Candidates.BlockedUsers => UserRecord.KindName,
        _ => throw new ArgumentOutOfRangeException(nameof(which), which, "Unknown candidate class."),
    };

    /// <summary>Checks a typed candidate query asks for the record type its class holds; returns the kind.</summary>
    public static string KindOf<T>(Candidates which)
        where T : StoreRecord
    {
        var kind = KindOf(which);
        return StoreRecordJson.KindOf<T>() == kind
            ? kind
            : throw new ArgumentException($"{which} holds {kind} rows, not {typeof(T).Name}.", nameof(which));
    }
}
