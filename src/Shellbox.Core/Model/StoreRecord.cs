namespace Shellbox.Core.Model;

/// <summary>
/// A row of the pool store. <see cref="ETag"/> is the row version the store handed out when the row was
/// read; a write carrying an old ETag is refused. Null on a record that has not been stored yet.
/// </summary>
public abstract record StoreRecord
{
    public required string Id { get; init; }

    public string? ETag { get; init; }

    /// <summary>The kind of row, used as the store's partition of rows ("instance", "volume", "box").</summary>
    public abstract string Kind { get; }

    public string Key => $"{Kind}/{Id}";
}
