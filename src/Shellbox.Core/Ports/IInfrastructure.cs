using Shellbox.Core.Model;

namespace Shellbox.Core.Ports;

/// <summary>
/// The slow world: instances, volumes, attachment and the golden snapshot. Azure ARM in the cloud,
/// folders and slots on this machine locally. Both adapters pass the infrastructure contract tests.
/// Calls are idempotent where they can be: creating what exists or deleting what is gone succeeds.
/// </summary>
public interface IInfrastructure
{
    /// <summary>What exists for one role, with its tags (Resource Graph in Azure: one query per role).</summary>
    Task<IReadOnlyList<InventoryItem>> ListAsync(string role, CancellationToken cancellationToken = default);

    /// <summary>The current golden snapshot, or null when none has been made.</summary>
    Task<GoldenSnapshotInfo?> GetGoldenSnapshotAsync(CancellationToken cancellationToken = default);

    /// <summary>Finds the golden snapshot for the current inputs, or builds it (boot once, suspend).</summary>
    Task<GoldenSnapshotInfo> EnsureGoldenSnapshotAsync(IProgress<ShellboxProgress>? progress = null, CancellationToken cancellationToken = default);

    /// <summary>Creates an instance and returns where its box will answer SSH.</summary>
    Task<InstanceInfo> CreateInstanceAsync(string instanceId, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken = default);

    Task DeleteInstanceAsync(string instanceId, CancellationToken cancellationToken = default);

    /// <summary>Clones a volume from the golden snapshot.</summary>
    Task CreateVolumeAsync(string volumeId, GoldenSnapshotInfo golden, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken = default);

    /// <summary>Deletes a volume and everything on it. Callers must never pass an owned volume.</summary>
    Task DeleteVolumeAsync(string volumeId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes the volume of a box being removed on its owner's request. The provider checks that the
    /// volume belongs to <paramref name="userId"/>/<paramref name="boxName"/> (or to nobody yet) and refuses otherwise.
    /// </summary>
    Task DeleteBoxVolumeAsync(string volumeId, string userId, string boxName, CancellationToken cancellationToken = default);

    /// <summary>
    /// How many bytes the volume takes (Local: its folder's blocks on disk; Azure: the managed disk's size), or null
    /// when the volume is gone or the provider cannot tell. One point read, never a listing.
    /// </summary>
    Task<long?> GetVolumeSizeAsync(string volumeId, CancellationToken cancellationToken = default) => Task.FromResult<long?>(null);

    /// <summary>
    /// Mirrors the store's owner onto the volume (its tags) when no attach carried them, e.g. a box made
    /// from a ready pair. Called off the connect's critical path.
    /// </summary>
    Task TagVolumeAsync(string volumeId, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken = default);

    /// <summary>Attaches the volume and writes the instance's tags in one provider call.</summary>
    Task AttachAsync(string instanceId, string volumeId, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken = default);

    Task DetachAsync(string instanceId, string volumeId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Copies a volume whose box is not running (suspended: disk, RAM file and device state) into a new volume
    /// <paramref name="copyVolumeId"/> owned as <paramref name="tags"/> say. The source is only read. The copy
    /// presents the source's host key until its first resume, which gives it its own, as for a golden clone.
    /// A provider that cannot copy volumes refuses with one clear error.
    /// </summary>
    Task CopyVolumeAsync(string sourceVolumeId, string copyVolumeId, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken = default) =>
        throw Errors.ShellboxException.User("DuplicateUnsupported", "This provider cannot duplicate boxes.");
}

/// <summary>One resource as the provider sees it.</summary>
/// <param name="BoxRunning">
/// For an instance with a volume attached: whether the box's QEMU runs there, where the provider sees it at no extra
/// cost (Local: a process lookup); null when unknown. A ready pair listed as not running lost its box (the host
/// restarted), and reconcile retires it.
/// </param>
public sealed record InventoryItem(string Role, string Id, IReadOnlyDictionary<string, string> Tags, bool? BoxRunning = null);

/// <summary>
/// A created instance: its address (the Local provider's slot endpoint; an Azure VM's private address) and,
/// where the provider made one, the instance's own SSH host key (OpenSSH public key form) to pin.
/// </summary>
public sealed record InstanceInfo(string InstanceId, string Endpoint, string? HostKey = null);

/// <summary>A golden snapshot: the version (prefix + content hash) and where it lives.</summary>
public sealed record GoldenSnapshotInfo(string Version, string Location, DateTimeOffset Created);

/// <summary>Progress of a long operation, written by cmdlets as a progress record.</summary>
public sealed record ShellboxProgress(string Activity, string Status, int PercentComplete = -1);
