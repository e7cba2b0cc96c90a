using System.Globalization;
using System.Text;
using Azure.Data.Tables;
using Shellbox.Core.Model;
using Shellbox.Core.Store;

namespace Shellbox.Azure.Store;

/// <summary>
/// How store rows and events are laid out as table entities. Every pool row is in one partition, so any
/// set of rows can be written in one entity group transaction; the record itself is its JSON, beside the
/// properties a query filters on (Kind, Candidate) and operators read (LastUsed).
/// </summary>
internal static class PoolEntities
{
    public const string Partition = "pool";
    public const string EventPartition = "events";
    public const string EventKind = "Kind";
    public const string EventRole = "Role";
    public const string EventResource = "ResourceId";
    public const string Json = nameof(Json);
    public const string Kind = nameof(Kind);
    public const string Candidate = nameof(Candidate);
    public const string LastUsed = nameof(LastUsed);

    // Edm.DateTime starts in 1601; an earlier LastUsed is simply not mirrored (nothing filters on it).
    private static readonly DateTimeOffset EarliestTableTime = new(1601, 1, 2, 0, 0, 0, TimeSpan.Zero);

    public static string RowKey(string kind, string id) => $"{kind}|{EscapeKey(id)}";

    public static string RowKey(StoreRecord record) => RowKey(record.Kind, record.Id);

    public static TableEntity ToEntity(StoreRecord record)
    {
        var entity = new TableEntity(Partition, RowKey(record))
        {
            [Kind] = record.Kind,
            [Json] = StoreRecordJson.Serialize(record),
        };

        // UpdateReplace drops properties left out, so a row that stops being a candidate loses its Candidate.
        if (StoreIndex.CandidateOf(record) is { } candidate)
        {
            entity[Candidate] = candidate.ToString();
        }

        if (StoreIndex.LastUsedOf(record) is { } lastUsed && lastUsed >= EarliestTableTime)
        {
            entity[LastUsed] = lastUsed;
        }

        return entity;
    }

    public static StoreRecord ToRecord(TableEntity entity, string? kind = null) =>
        StoreRecordJson.Deserialize(kind ?? entity.GetString(Kind), entity.GetString(Json), entity.ETag.ToString());

    /// <summary>Newest first in key order: inverted ticks of the event time, then a suffix so equal times never collide.</summary>
    public static TableEntity ToEntity(PoolEvent poolEvent) =>
        new(EventPartition, $"{EventKeyOf(poolEvent.Timestamp)}-{Guid.NewGuid():N}")
        {
            [Json] = StoreRecordJson.SerializeEvent(poolEvent),

            // Plain columns beside the JSON so a query by kind, role or resource is a server-side filter.
            [EventKind] = poolEvent.Kind,
            [EventRole] = poolEvent.Role,
            [EventResource] = poolEvent.ResourceId,
        };

    /// <summary>The RowKey prefix of an event at <paramref name="time"/>: later times sort first.</summary>
    public static string EventKeyOf(DateTimeOffset time) =>
        (DateTimeOffset.MaxValue.UtcTicks - time.UtcTicks).ToString("D19", CultureInfo.InvariantCulture);

    /// <summary>Ids are free text; these characters are not allowed in a RowKey, so they are written %XX (injective: '%' too).</summary>
    private static string EscapeKey(string id)
    {
        if (!id.Any(NeedsEscape))
        {
            return id;
        }

        var escaped = new StringBuilder(id.Length + 8);
        foreach (var c in id)
        {
            escaped.Append(NeedsEscape(c) ? $"%{(int)c:X2}" : c.ToString());
        }

        return escaped.ToString();
    }

    private static bool NeedsEscape(char c) => c is '/' or '\\' or '#' or '?' or '%' || char.IsControl(c);
}
