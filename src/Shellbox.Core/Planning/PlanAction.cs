using Shellbox.Core.Lifecycle;
using Shellbox.Core.Model;

namespace Shellbox.Core.Planning;

/// <summary>
/// One step of a <see cref="PoolPlan"/>: plain data the executor carries out. <see cref="Role"/> is a
/// <see cref="ResourceRoles"/> value; <see cref="Describe"/> is the line -WhatIf prints.
/// </summary>
public abstract record PlanAction(string Role)
{
    public abstract string Describe();

    public sealed override string ToString() => Describe();
}

/// <summary>Create one resource of the role (scale up toward min free).</summary>
public sealed record CreateResource(string Role) : PlanAction(Role)
{
    public override string Describe() => $"create a new {Role}";
}

/// <summary>Delete a free, unclaimed, unattached, unowned resource (scale down toward max free).</summary>
public sealed record DeleteResource(string Role, string Id, string Reason) : PlanAction(Role)
{
    public override string Describe() => $"delete {Role} {Id}: {Reason}";
}

/// <summary>Attach a free volume to a free instance and resume its box, so a new box needs no provider call.</summary>
public sealed record PairReadyPair(string InstanceId, string VolumeId) : PlanAction(ResourceRoles.Instance)
{
    public override string Describe() => $"attach volume {VolumeId} to instance {InstanceId} as a ready pair";
}

/// <summary>
/// A ready pair whose box the provider lists as not running (its host restarted): its volume, a fresh clone whose saved
/// state its first resume consumed, could only be cold-booted. Delete the volume and free the instance; the pool makes
/// a new pair, so no user's new box pays a cold boot.
/// </summary>
public sealed record RetireDeadPair(string InstanceId, string VolumeId) : PlanAction(ResourceRoles.Instance)
{
    public override string Describe() => $"retire the ready pair {InstanceId}+{VolumeId}: its box is not running (the host restarted?); delete volume {VolumeId}, free instance {InstanceId}";
}

/// <summary>Drop a lease whose holder stopped renewing it.</summary>
public sealed record ReclaimLease(string Role, string Id) : PlanAction(Role)
{
    public override string Describe() => $"reclaim {Role} {Id}: its lease has expired";
}

/// <summary>Remove a store row whose resource is gone from the provider.</summary>
public sealed record ForgetGhost(string Role, string Id) : PlanAction(Role)
{
    public override string Describe() => $"forget {Role} {Id}: in the store but gone from the provider";
}

/// <summary>Delete a provider resource the store does not know, untagged for any user and past the grace period.</summary>
public sealed record DeleteOrphan(string Role, string Id) : PlanAction(Role)
{
    public override string Describe() => $"delete orphan {Role} {Id}: in the provider but not in the store";
}

/// <summary>Drift the planner will not repair by itself (it may hold user data): tell an operator.</summary>
public sealed record ReportDrift(string Role, string Id, string Message) : PlanAction(Role)
{
    public override string Describe() => $"report drift on {Role} {Id}: {Message}";
}

/// <summary>
/// A resource left "creating" or "deleting" past the grace period: the executor decides whether to finish
/// or undo it. A reset also drops an expired lease, so no separate <see cref="ReclaimLease"/> is planned.
/// </summary>
public sealed record ResetStuck(string Role, string Id) : PlanAction(Role)
{
    public override string Describe() => $"reset {Role} {Id}: stuck in a transitional status";
}

/// <summary>A user's volume whose provider tags do not name its owner (its box came from a ready pair, with no attach to carry them): write them.</summary>
public sealed record MirrorOwner(string Id, string UserId) : PlanAction(ResourceRoles.Volume)
{
    public override string Describe() => $"tag volume {Id} with its owner {UserId}";
}

/// <summary>
/// A box whose transition mark (a release or a removal) has expired: its holder crashed or failed. The executor
/// finishes the act, or undoes it when finishing fails, so the mark is gone after this pass.
/// </summary>
public sealed record RepairTransition(string Id, TransitionAct Act, string Owner) : PlanAction(BoxRole)
{
    /// <summary>The role of box rows in events and plans.</summary>
    public const string BoxRole = "box";

    public override string Describe() => $"finish or undo the {Act.ToString().ToLowerInvariant()} of box {Id}: its mark from {Owner} has expired";
}
