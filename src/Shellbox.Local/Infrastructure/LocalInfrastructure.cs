using Shellbox.Core.Errors;
using Shellbox.Core.Model;
using Shellbox.Core.Ports;
using Shellbox.Core.Settings;
using Shellbox.Local.Files;
using Shellbox.Local.Qemu;

namespace Shellbox.Local.Infrastructure;

/// <summary>
/// Instances and volumes as folders on this machine. An instance is a slot (at most
/// <see cref="LocalProviderSettings.MaxSlots"/>) with a loopback port; a volume is a qcow2 overlay on the
/// golden disk plus a copy of the golden's RAM file and device state. Calls are idempotent, and safe to
/// make from several processes at once (one folder lock; crash-safe writes).
/// </summary>
public sealed class LocalInfrastructure : IInfrastructure
{
    private readonly ShellboxSettings settings;
    private readonly LocalProviderSettings local;
    private readonly LocalState state;
    private readonly GoldenBuilder golden;
    private readonly TimeProvider time;

    public LocalInfrastructure(ShellboxSettings settings, LocalProviderOptions? options = null, TimeProvider? time = null)
    {
        this.settings = settings;
        local = LocalProviderSettings.From(settings);
        options ??= new LocalProviderOptions();
        this.time = time ?? TimeProvider.System;
        state = new LocalState(new LocalLayout(settings, options));
        golden = new GoldenBuilder(state, options, QemuMachine.Create(local.MemoryMiB, options.Accelerator), GuestBuild.From(local), this.time);
    }

    /// <summary>The private key the control plane logs in to boxes with (made by the first EnsureGoldenSnapshotAsync).</summary>
    public string ControlKeyPath => state.Layout.ControlKey;

    public Task<IReadOnlyList<InventoryItem>> ListAsync(string role, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        IReadOnlyList<InventoryItem> items = role switch
        {
            ResourceRoles.Instance => state.Slots().Select(s => InstanceItem(s, s.VolumeId is null ? null : QemuProcess.Find(state.Layout.Instance(s.InstanceId)) is not null)).ToList(),
            ResourceRoles.Volume => VolumeItems(),
            _ => throw ShellboxException.User("RoleUnknown", $"There is no resource role '{role}'; use {ResourceRoles.Instance} or {ResourceRoles.Volume}."),
        };
        return Task.FromResult(items);
    }

    public Task<GoldenSnapshotInfo?> GetGoldenSnapshotAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult(golden.GetCurrent());

    public Task<GoldenSnapshotInfo> EnsureGoldenSnapshotAsync(IProgress<ShellboxProgress>? progress = null, CancellationToken cancellationToken = default) =>
        golden.EnsureAsync(progress, cancellationToken);

    public async Task<InstanceInfo> CreateInstanceAsync(string instanceId, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken = default)
    {
        var folder = state.Layout.Instance(instanceId);
        using var _ = await state.LockAsync(cancellationToken).ConfigureAwait(false);
        if (state.ReadSlot(instanceId) is { } existing)
        {
            return new InstanceInfo(instanceId, existing.Endpoint);
        }

        var slots = state.Slots();
        var used = slots.Select(s => s.Slot).ToHashSet();
        var free = Enumerable.Range(0, local.MaxSlots).Where(i => !used.Contains(i)).Cast<int?>().FirstOrDefault()
            ?? throw new ProviderAtCapacityException(
                "LocalSlotsFull",
                ResourceRoles.Instance,
                local.MaxSlots,
                $"All {local.MaxSlots} local instance slots are in use ({string.Join(", ", slots.Select(s => s.InstanceId))}); delete an instance or raise local.maxSlots in {settings.ConfigFile}.");

        var slot = new SlotFile
        {
            InstanceId = instanceId,
            Slot = free,
            Port = local.BasePort + free,
            Created = time.GetUtcNow(),
            Tags = new Dictionary<string, string>(tags),
        };

        // A folder without slot.json is not an instance: a crash here leaves nothing that counts.
        Directory.CreateDirectory(folder);
        state.WriteSlot(slot);
        return new InstanceInfo(instanceId, slot.Endpoint);
    }

    public async Task DeleteInstanceAsync(string instanceId, CancellationToken cancellationToken = default)
    {
        var folder = state.Layout.Instance(instanceId);
        using var _ = await state.LockAsync(cancellationToken).ConfigureAwait(false);
        var slot = state.ReadSlot(instanceId);
        if (QemuProcess.Find(folder) is { } qemu)
        {
            if (slot?.VolumeId is { } volumeId && state.ReadVolume(volumeId)?.UserId is { } owner)
            {
                throw new ShellboxException(ShellboxErrorKind.Conflict, "InstanceBoxRunning", $"Instance '{instanceId}' runs the box of user '{owner}' (volume '{volumeId}'); suspend it before deleting the instance.");
            }

            // An unowned box (a ready pair's) holds nothing anyone needs: stop it. Its volume keeps no
            // saved state and cannot be resumed again; the pool deletes such volumes.
            await qemu.KillAsync().ConfigureAwait(false);
        }

        DeleteFolder(folder, state.Layout.InstancesRoot, instanceId);
    }

    public async Task CreateVolumeAsync(string volumeId, GoldenSnapshotInfo golden, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken = default)
    {
        var folder = state.Layout.Volume(volumeId);
        if (state.ReadVolume(volumeId) is { } existing)
        {
            EnsureSameGolden(existing, golden);
            return;
        }

        // Under the lock: a golden sweep never removes the golden between this read and the clone that leans on it.
        using var _ = await state.LockAsync(cancellationToken).ConfigureAwait(false);
        var goldenMeta = state.ReadGolden(golden.Location)
            ?? throw ShellboxException.NotFound("GoldenNotFound", $"The golden snapshot '{golden.Version}' is not complete at {golden.Location}; run EnsureGoldenSnapshot first.");
        GoldenSweep.MarkUsed(golden.Location);
        Directory.CreateDirectory(state.Layout.VolumesRoot);
        var work = Path.Combine(state.Layout.VolumesRoot, $".{volumeId}.{Guid.NewGuid():N}");
        Directory.CreateDirectory(work);
        try
        {
            // The overlay names its backing file by absolute path: the golden never moves once made.
            await ExternalTool.RunAsync(
                "qemu-img",
                ["create", "-q", "-f", "qcow2", "-b", Path.Combine(golden.Location, LocalFiles.GoldenDisk), "-F", "qcow2", Path.Combine(work, LocalFiles.Disk)],
                cancellationToken).ConfigureAwait(false);
            // The RAM file stays the golden's until the first resume copies it (GoldenRam): a new volume is small.
            File.Copy(Path.Combine(golden.Location, LocalFiles.DeviceState), Path.Combine(work, LocalFiles.DeviceState));
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(Path.Combine(work, LocalFiles.DeviceState), UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            AtomicFile.Sync(Path.Combine(work, LocalFiles.DeviceState));
            var meta = new VolumeMeta
            {
                VolumeId = volumeId,
                Golden = goldenMeta.Version,
                GoldenLocation = Path.GetFullPath(golden.Location),
                Created = time.GetUtcNow(),
                UserId = tags.GetValueOrDefault(TagKeys.UserId),
                BoxName = tags.GetValueOrDefault(TagKeys.BoxName),
                MachineFingerprint = goldenMeta.MachineFingerprint,
                MachineDescription = goldenMeta.MachineDescription,
                GuestAgent = goldenMeta.GuestAgent,
                GoldenHostKey = goldenMeta.HostKey,
                RamInGolden = true,
                Tags = new Dictionary<string, string>(tags),
            };
            AtomicFile.WriteJson(Path.Combine(work, LocalFiles.VolumeMeta), meta);
            try
            {
                Directory.Move(work, folder);
            }
            catch (IOException) when (state.ReadVolume(volumeId) is { } raced)
            {
                // Created by someone else meanwhile: theirs stands.
                EnsureSameGolden(raced, golden);
                TryDelete(work);
                return;
            }

            AtomicFile.SyncDirectory(state.Layout.VolumesRoot);
        }
        catch
        {
            TryDelete(work);
            throw;
        }
    }

    public async Task DeleteVolumeAsync(string volumeId, CancellationToken cancellationToken = default)
    {
        var folder = state.Layout.Volume(volumeId);
        using var _ = await state.LockAsync(cancellationToken).ConfigureAwait(false);
        if (!Directory.Exists(folder))
        {
            return;
        }

        if (state.ReadVolume(volumeId) is { UserId: { } owner } meta)
        {
            // The Core never asks this; refusing here keeps a bug elsewhere from deleting someone's box.
            throw new ShellboxException(ShellboxErrorKind.Conflict, "VolumeOwned", $"Volume '{volumeId}' holds the box '{meta.BoxName}' of user '{owner}' and is not deleted.");
        }

        if (state.Slots().FirstOrDefault(s => s.VolumeId == volumeId) is { } slot)
        {
            throw new ShellboxException(ShellboxErrorKind.Conflict, "VolumeAttached", $"Volume '{volumeId}' is attached to instance '{slot.InstanceId}'; detach it first.");
        }

        DeleteFolder(folder, state.Layout.VolumesRoot, volumeId);
    }

    public async Task DeleteBoxVolumeAsync(string volumeId, string userId, string boxName, CancellationToken cancellationToken = default)
    {
        var folder = state.Layout.Volume(volumeId);
        using var _ = await state.LockAsync(cancellationToken).ConfigureAwait(false);

        // A duplicate cut short leaves its copy in a work folder; undoing it deletes that too.
        new VolumeCopy(state, time).Sweep(volumeId);
        if (!Directory.Exists(folder))
        {
            return;
        }

        if (state.ReadVolume(volumeId) is { UserId: { } owner } meta && (owner != userId || meta.BoxName != boxName))
        {
            throw new ShellboxException(ShellboxErrorKind.Conflict, "VolumeOwnerMismatch", $"Volume '{volumeId}' holds the box '{meta.BoxName}' of user '{owner}', not '{boxName}' of '{userId}'; it is not deleted.");
        }

        if (state.Slots().FirstOrDefault(s => s.VolumeId == volumeId) is { } slot)
        {
            throw new ShellboxException(ShellboxErrorKind.Conflict, "VolumeAttached", $"Volume '{volumeId}' is attached to instance '{slot.InstanceId}'; detach it first.");
        }

        DeleteFolder(folder, state.Layout.VolumesRoot, volumeId);
    }

    public async Task<long?> GetVolumeSizeAsync(string volumeId, CancellationToken cancellationToken = default)
    {
        // Blocks actually allocated (du), not file lengths: the disk and RAM files are sparse clones of the golden.
        var folder = state.Layout.Volume(volumeId);
        if (!Directory.Exists(folder))
        {
            return null;
        }

        var result = await ExternalTool.TryRunAsync("du", ["-s", "-B1", folder], cancellationToken).ConfigureAwait(false);
        return result.ExitCode == 0 && long.TryParse(result.StdOut.Split('\t', 2)[0], System.Globalization.CultureInfo.InvariantCulture, out var bytes) ? bytes : null;
    }

    public async Task CopyVolumeAsync(string sourceVolumeId, string copyVolumeId, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken = default)
    {
        var source = state.ReadVolume(sourceVolumeId) ?? throw LocalState.VolumeNotFound(sourceVolumeId);
        if (state.Slots().FirstOrDefault(s => s.VolumeId == sourceVolumeId) is { } slot && QemuProcess.Find(state.Layout.Instance(slot.InstanceId)) is not null)
        {
            throw new ShellboxException(ShellboxErrorKind.Conflict, "VolumeInUse", $"The box of volume '{sourceVolumeId}' is running on instance '{slot.InstanceId}'; the runtime copies a running box.");
        }

        var copy = new VolumeCopy(state, time);
        var work = copy.Begin(copyVolumeId);
        try
        {
            await VolumeCopy.CopyFilesAsync(state.Layout.Volume(sourceVolumeId), work, deviceState: true, cancellationToken).ConfigureAwait(false);
            copy.Commit(work, source, copyVolumeId, tags);
        }
        catch
        {
            VolumeCopy.Discard(work);
            throw;
        }
    }

    public async Task AttachAsync(string instanceId, string volumeId, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken = default)
    {
        using var _ = await state.LockAsync(cancellationToken).ConfigureAwait(false);
        var slot = state.ReadSlot(instanceId) ?? throw LocalState.InstanceNotFound(instanceId);
        var volume = state.ReadVolume(volumeId) ?? throw LocalState.VolumeNotFound(volumeId);
        if (slot.VolumeId is { } attached && attached != volumeId)
        {
            throw new ShellboxException(ShellboxErrorKind.Conflict, "InstanceOccupied", $"Instance '{instanceId}' already has volume '{attached}' attached; detach it first.");
        }

        if (state.Slots().FirstOrDefault(s => s.VolumeId == volumeId && s.InstanceId != instanceId) is { } other)
        {
            throw new ShellboxException(ShellboxErrorKind.Conflict, "VolumeAttachedElsewhere", $"Volume '{volumeId}' is attached to instance '{other.InstanceId}'; detach it there first.");
        }

        var merged = new Dictionary<string, string>(slot.Tags);
        foreach (var (key, value) in tags)
        {
            merged[key] = value;
        }

        state.WriteSlot(slot with { VolumeId = volumeId, Tags = merged });
        if (tags.TryGetValue(TagKeys.UserId, out var userId) && volume.UserId != userId)
        {
            state.WriteVolume(volume with { UserId = userId, BoxName = tags.GetValueOrDefault(TagKeys.BoxName) ?? volume.BoxName });
        }
    }

    public async Task TagVolumeAsync(string volumeId, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken = default)
    {
        using var _ = await state.LockAsync(cancellationToken).ConfigureAwait(false);
        if (state.ReadVolume(volumeId) is { } volume && tags.TryGetValue(TagKeys.UserId, out var userId) && volume.UserId != userId)
        {
            state.WriteVolume(volume with { UserId = userId, BoxName = tags.GetValueOrDefault(TagKeys.BoxName) ?? volume.BoxName });
        }
    }

    public async Task DetachAsync(string instanceId, string volumeId, CancellationToken cancellationToken = default)
    {
        using var _ = await state.LockAsync(cancellationToken).ConfigureAwait(false);
        var slot = state.ReadSlot(instanceId);
        if (slot is null || slot.VolumeId != volumeId)
        {
            return; // not attached there: nothing to undo
        }

        if (QemuProcess.Find(state.Layout.Instance(instanceId)) is not null)
        {
            throw new ShellboxException(ShellboxErrorKind.Conflict, "VolumeInUse", $"The box of volume '{volumeId}' is running on instance '{instanceId}'; suspend it before detaching.");
        }

        // The instance's tags describe the box it serves: that box is gone from it.
        var tags = new Dictionary<string, string>(slot.Tags);
        tags.Remove(TagKeys.UserId);
        tags.Remove(TagKeys.BoxName);
        tags[TagKeys.Status] = ResourceStatuses.Free;
        state.WriteSlot(slot with { VolumeId = null, Tags = tags });
    }

    private static void EnsureSameGolden(VolumeMeta existing, GoldenSnapshotInfo golden)
    {
        if (existing.Golden != golden.Version)
        {
            throw new ShellboxException(ShellboxErrorKind.Conflict, "VolumeExists", $"Volume '{existing.VolumeId}' already exists, cloned from '{existing.Golden}', not '{golden.Version}'.");
        }
    }

    private static InventoryItem InstanceItem(SlotFile slot, bool? boxRunning)
    {
        var tags = new Dictionary<string, string>(slot.Tags)
        {
            [TagKeys.Role] = ResourceRoles.Instance,
        };
        tags.TryAdd(TagKeys.Created, slot.Created.ToString("O"));
        tags.TryAdd(TagKeys.Status, slot.VolumeId is null ? ResourceStatuses.Free : ResourceStatuses.Attached);
        return new InventoryItem(ResourceRoles.Instance, slot.InstanceId, tags, boxRunning);
    }

    private List<InventoryItem> VolumeItems()
    {
        var attached = state.Slots().Where(s => s.VolumeId is not null).Select(s => s.VolumeId!).ToHashSet();
        return state.Volumes().Select(meta =>
        {
            var tags = new Dictionary<string, string>(meta.Tags)
            {
                [TagKeys.Role] = ResourceRoles.Volume,
                [TagKeys.Golden] = meta.Golden,
            };
            tags.TryAdd(TagKeys.Created, meta.Created.ToString("O"));
            tags.TryAdd(TagKeys.Status, attached.Contains(meta.VolumeId) ? ResourceStatuses.Attached : ResourceStatuses.Free);
            if (meta.UserId is not null)
            {
                tags[TagKeys.UserId] = meta.UserId;
            }

            if (meta.BoxName is not null)
            {
                tags[TagKeys.BoxName] = meta.BoxName;
            }

            return new InventoryItem(ResourceRoles.Volume, meta.VolumeId, tags);
        }).ToList();
    }

    /// <summary>Renames the folder to a dot-name first: a crash mid-delete leaves nothing that lists.</summary>
    private static void DeleteFolder(string folder, string root, string id)
    {
        if (!Directory.Exists(folder))
        {
            return;
        }

        var doomed = Path.Combine(root, $".{id}.deleting.{Guid.NewGuid():N}");
        Directory.Move(folder, doomed);
        AtomicFile.SyncDirectory(root);
        TryDelete(doomed);
    }

    private static void TryDelete(string folder) => WorkFolder.TryDelete(folder, "Shellbox.Local.Infrastructure");
}
