namespace Shellbox.Core.Model;

/// <summary>Resource roles (seed 000, phase 1.1).</summary>
public static class ResourceRoles
{
    public const string Instance = "instance";
    public const string Volume = "volume";
}

/// <summary>Resource statuses (seed 000) plus the transitional ones reconcile repairs when stuck.</summary>
public static class ResourceStatuses
{
    public const string Free = "free";
    public const string Connected = "connected";
    public const string Attached = "attached";

    /// <summary>An owned volume at rest: its box suspended to it, attached nowhere.</summary>
    public const string Suspended = "suspended";

    // Transitional: a resource is written in one of these, with a TransitionMark (act, owner, expiry), before
    // the slow provider call and moved out of it after, so a crash in between is visible to reconcile, which
    // finishes or undoes it once the mark expires (Lifecycle/TransitionRepair, PlanExecutor's reset).
    public const string Creating = "creating";
    public const string Deleting = "deleting";
}

/// <summary>Azure tag keys that mirror the store (seed 000 plus the design card).</summary>
public static class TagKeys
{
    public const string Role = "shellbox:role";
    public const string Status = "shellbox:status";
    public const string Created = "shellbox:created";
    public const string LastUsed = "shellbox:lastused";
    public const string UserId = "shellbox:userid";
    public const string BoxName = "shellbox:boxname";
    public const string Golden = "shellbox:golden";
}

/// <summary>Azure resource types used in Resource Graph queries (seed 000).</summary>
public static class AzureResourceTypes
{
    public const string VirtualMachine = "microsoft.compute/virtualmachines";
    public const string Disk = "microsoft.compute/disks";
}

/// <summary>Query and disk constants (seed 000).</summary>
public static class ShellboxLimits
{
    public const int MaxQueryResults = 10;
    public const int DefaultVolumeSizeGB = 32;
    public const string GoldenSnapshotPrefix = "golden-snapshot";
}
