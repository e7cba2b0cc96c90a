using Shellbox.Core.Model;
using Shellbox.Core.Ports;

namespace Shellbox.Core.Planning;

/// <summary>
/// Everything <see cref="PoolPlanner"/> looks at, read once per reconcile pass. The planner reads no
/// clock: <see cref="Now"/> is the caller's TimeProvider.GetUtcNow().
/// </summary>
public sealed record PlannerInput
{
    public required PoolSnapshot Snapshot { get; init; }

    public required PoolConfig Config { get; init; }

    public required DateTimeOffset Now { get; init; }

    /// <summary>What the provider lists for instances; null when not read this pass (no drift detection then).</summary>
    public IReadOnlyList<InventoryItem>? InstanceInventory { get; init; }

    /// <summary>What the provider lists for volumes; null when not read this pass (no drift detection then).</summary>
    public IReadOnlyList<InventoryItem>? VolumeInventory { get; init; }

    public DateTimeOffset? LastInstanceScaleDown { get; init; }

    public DateTimeOffset? LastVolumeScaleDown { get; init; }

    /// <summary>Recent create failures for instances; null means none.</summary>
    public FailureHistory? InstanceFailures { get; init; }

    /// <summary>Recent create failures for volumes; null means none.</summary>
    public FailureHistory? VolumeFailures { get; init; }

    public IReadOnlyList<InventoryItem>? InventoryFor(string role) =>
        role == ResourceRoles.Instance ? InstanceInventory : VolumeInventory;

    public DateTimeOffset? LastScaleDownFor(string role) =>
        role == ResourceRoles.Instance ? LastInstanceScaleDown : LastVolumeScaleDown;

    public FailureHistory FailuresFor(string role) =>
        (role == ResourceRoles.Instance ? InstanceFailures : VolumeFailures) ?? FailureHistory.None;
}
