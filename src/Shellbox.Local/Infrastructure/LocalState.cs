using Shellbox.Core.Errors;
using Shellbox.Local.Files;

namespace Shellbox.Local.Infrastructure;

/// <summary>
/// Reads and writes the slot, volume and golden files of one state folder. Every read-modify-write runs
/// under the folder lock; every write is crash-safe (temp file, fsync, rename).
/// </summary>
internal sealed class LocalState(LocalLayout layout)
{
    private static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(60);

    public LocalLayout Layout { get; } = layout;

    public Task<FolderLock> LockAsync(CancellationToken cancellationToken) =>
        FolderLock.AcquireAsync(Layout.LockFile, LockTimeout, cancellationToken);

    public SlotFile? ReadSlot(string instanceId) => Read<SlotFile>(Path.Combine(Layout.Instance(instanceId), LocalFiles.Slot));

    public void WriteSlot(SlotFile slot) => AtomicFile.WriteJson(Path.Combine(Layout.Instance(slot.InstanceId), LocalFiles.Slot), slot);

    public VolumeMeta? ReadVolume(string volumeId) => Read<VolumeMeta>(Path.Combine(Layout.Volume(volumeId), LocalFiles.VolumeMeta));

    public void WriteVolume(VolumeMeta meta) => AtomicFile.WriteJson(Path.Combine(Layout.Volume(meta.VolumeId), LocalFiles.VolumeMeta), meta);

    public GoldenMeta? ReadGolden(string goldenFolder) => Read<GoldenMeta>(Path.Combine(goldenFolder, LocalFiles.GoldenMeta));

    /// <summary>Changes a volume's meta.json under the lock; returns the new content.</summary>
    public async Task<VolumeMeta> UpdateVolumeAsync(string volumeId, Func<VolumeMeta, VolumeMeta> change, CancellationToken cancellationToken)
    {
        using var _ = await LockAsync(cancellationToken).ConfigureAwait(false);
        var meta = ReadVolume(volumeId) ?? throw VolumeNotFound(volumeId);
        var changed = change(meta);
        WriteVolume(changed);
        return changed;
    }

    /// <summary>Every complete slot (a folder with its slot.json).</summary>
    public IReadOnlyList<SlotFile> Slots() => Folders(Layout.InstancesRoot).Select(f => Read<SlotFile>(Path.Combine(f, LocalFiles.Slot))).OfType<SlotFile>().ToList();

    /// <summary>Every complete volume (a folder with its meta.json).</summary>
    public IReadOnlyList<VolumeMeta> Volumes() => Folders(Layout.VolumesRoot).Select(f => Read<VolumeMeta>(Path.Combine(f, LocalFiles.VolumeMeta))).OfType<VolumeMeta>().ToList();

    public static ShellboxException VolumeNotFound(string volumeId) => ShellboxException.NotFound("VolumeNotFound", $"There is no local volume '{volumeId}'.");

    public static ShellboxException InstanceNotFound(string instanceId) => ShellboxException.NotFound("InstanceNotFound", $"There is no local instance '{instanceId}'.");

    private static IEnumerable<string> Folders(string root) =>
        Directory.Exists(root)
            ? Directory.EnumerateDirectories(root).Where(d => !Path.GetFileName(d).StartsWith('.')).Order(StringComparer.Ordinal)
            : [];

    private static T? Read<T>(string path)
        where T : class
    {
        try
        {
            return AtomicFile.ReadJson<T>(path);
        }
        catch (System.Text.Json.JsonException e)
        {
            throw ShellboxException.Service("LocalStateCorrupt", $"{path} is not valid: {e.Message}", e);
        }
    }
}
