using System.Text.Json;
using System.Text.Json.Serialization;
using Shellbox.Core.Model;

namespace Shellbox.Core.Store;

/// <summary>
/// The one serialized form of store rows and events, shared by every store so a row written by one
/// version of the engine reads the same everywhere. The ETag is never serialized: the store owns it.
/// </summary>
public static class StoreRecordJson
{
    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static string Serialize(StoreRecord record) => record switch
    {
        InstanceRecord r => JsonSerializer.Serialize(r with { ETag = null }, Options),
        VolumeRecord r => JsonSerializer.Serialize(r with { ETag = null }, Options),
        BoxRecord r => JsonSerializer.Serialize(r with { ETag = null }, Options),
        LockRecord r => JsonSerializer.Serialize(r with { ETag = null }, Options),
        CapacityGuardRecord r => JsonSerializer.Serialize(r with { ETag = null }, Options),
        UserRecord r => JsonSerializer.Serialize(r with { ETag = null }, Options),
        _ => throw new ArgumentException($"Unknown store record type {record.GetType().Name}.", nameof(record)),
    };

    public static StoreRecord Deserialize(string kind, string json, string etag)
    {
        StoreRecord? record = kind switch
        {
            ResourceRoles.Instance => JsonSerializer.Deserialize<InstanceRecord>(json, Options),
            ResourceRoles.Volume => JsonSerializer.Deserialize<VolumeRecord>(json, Options),
            "box" => JsonSerializer.Deserialize<BoxRecord>(json, Options),
            LockRecord.KindName => JsonSerializer.Deserialize<LockRecord>(json, Options),
            CapacityGuardRecord.KindName => JsonSerializer.Deserialize<CapacityGuardRecord>(json, Options),
            UserRecord.KindName => JsonSerializer.Deserialize<UserRecord>(json, Options),
            _ => null,
        };
        return (record ?? throw new InvalidDataException($"The pool store holds a row of unknown kind '{kind}'.")) with { ETag = etag };
    }

    public static string KindOf<T>()
        where T : StoreRecord =>
        typeof(T) == typeof(InstanceRecord) ? ResourceRoles.Instance
        : typeof(T) == typeof(VolumeRecord) ? ResourceRoles.Volume
        : typeof(T) == typeof(BoxRecord) ? "box"
        : typeof(T) == typeof(LockRecord) ? LockRecord.KindName
        : typeof(T) == typeof(CapacityGuardRecord) ? CapacityGuardRecord.KindName
        : typeof(T) == typeof(UserRecord) ? UserRecord.KindName
        : throw new ArgumentException($"Unknown store record type {typeof(T).Name}.");

    public static string SerializeEvent(PoolEvent poolEvent) => JsonSerializer.Serialize(poolEvent, Options);

    public static PoolEvent DeserializeEvent(string json) =>
        JsonSerializer.Deserialize<PoolEvent>(json, Options) ?? throw new InvalidDataException("The pool store holds an empty event.");

    /// <summary>Splits rows read in one pass into a snapshot.</summary>
    public static PoolSnapshot ToSnapshot(IEnumerable<StoreRecord> rows)
    {
        var list = rows.ToList();
        return new PoolSnapshot(
            list.OfType<InstanceRecord>().OrderBy(r => r.Id, StringComparer.Ordinal).ToList(),
            list.OfType<VolumeRecord>().OrderBy(r => r.Id, StringComparer.Ordinal).ToList(),
            list.OfType<BoxRecord>().OrderBy(r => r.Id, StringComparer.Ordinal).ToList());
    }
}
