using System.Globalization;
using Shellbox.Core.Model;
using Shellbox.Core.Planning;
using Shellbox.Core.Ports;

namespace Shellbox.Core.Tests.Planning;

/// <summary>Terse builders for planner inputs: rows default to free, unleased and last used an hour ago.</summary>
internal static class PoolRows
{
    public static readonly DateTimeOffset Start = new(2025, 1, 6, 9, 0, 0, TimeSpan.Zero);

    public static InstanceRecord Instance(
        string id,
        string status = ResourceStatuses.Free,
        DateTimeOffset? lastUsed = null,
        DateTimeOffset? created = null,
        string? volumeId = null,
        bool boxRunning = false,
        Lease? lease = null) => new()
        {
            Id = id,
            Status = status,
            Created = created ?? Start.AddHours(-2),
            LastUsed = lastUsed ?? Start.AddHours(-1),
            VolumeId = volumeId,
            BoxRunning = boxRunning,
            Lease = lease,
        };

    public static VolumeRecord Volume(
        string id,
        string status = ResourceStatuses.Free,
        DateTimeOffset? lastUsed = null,
        DateTimeOffset? created = null,
        string? userId = null,
        string? instanceId = null,
        Lease? lease = null) => new()
        {
            Id = id,
            Status = status,
            Created = created ?? Start.AddHours(-2),
            LastUsed = lastUsed ?? Start.AddHours(-1),
            Golden = "golden-snapshot-abc123",
            UserId = userId,
            BoxName = userId is null ? null : "dev",
            InstanceId = instanceId,
            Lease = lease,
        };

    public static BoxRecord Box(string userId, string volumeId, string? instanceId = null) => new()
    {
        Id = BoxRecord.IdFor(userId, "dev"),
        UserId = userId,
        BoxName = "dev",
        VolumeId = volumeId,
        InstanceId = instanceId,
        Created = Start.AddDays(-1),
    };

    public static Lease LeaseUntil(DateTimeOffset expiresAt) => new("connect-7", expiresAt, "corr-1");

    public static PoolSnapshot Snapshot(
        IEnumerable<InstanceRecord>? instances = null,
        IEnumerable<VolumeRecord>? volumes = null,
        IEnumerable<BoxRecord>? boxes = null) =>
        new([.. instances ?? []], [.. volumes ?? []], [.. boxes ?? []]);

    public static InventoryItem Item(string role, string id, DateTimeOffset? created = null, string? userId = null)
    {
        var tags = new Dictionary<string, string> { [TagKeys.Role] = role };
        if (created is { } c)
        {
            tags[TagKeys.Created] = c.ToString("O", CultureInfo.InvariantCulture);
        }

        if (userId is not null)
        {
            tags[TagKeys.UserId] = userId;
        }

        return new InventoryItem(role, id, tags);
    }

    /// <summary>The inventory a provider in step with the store would list.</summary>
    public static IReadOnlyList<InventoryItem> InventoryOf(IEnumerable<InstanceRecord> rows) =>
        [.. rows.Select(r => Item(ResourceRoles.Instance, r.Id, r.Created))];

    public static IReadOnlyList<InventoryItem> InventoryOf(IEnumerable<VolumeRecord> rows) =>
        [.. rows.Select(r => Item(ResourceRoles.Volume, r.Id, r.Created, r.UserId))];

    /// <summary>An input with both inventories in step with the snapshot, so no drift is planned.</summary>
    public static PlannerInput InStep(PoolSnapshot snapshot, DateTimeOffset now, PoolConfig? config = null) => new()
    {
        Snapshot = snapshot,
        Config = config ?? PoolConfig.Dev,
        Now = now,
        InstanceInventory = InventoryOf(snapshot.Instances),
        VolumeInventory = InventoryOf(snapshot.Volumes),
    };

    public static int Creates(this PoolPlan plan, string role) =>
        plan.Actions.OfType<CreateResource>().Count(a => a.Role == role);

    public static IReadOnlyList<string> Deleted(this PoolPlan plan, string role) =>
        [.. plan.Actions.OfType<DeleteResource>().Where(a => a.Role == role).Select(a => a.Id)];
}
