using Shellbox.Core.Errors;
using Shellbox.Local;
using Shellbox.Local.Files;
using Shellbox.Local.Infrastructure;
using Shellbox.Local.Runtime;

namespace Shellbox.Agent;

/// <summary>
/// The volume on the instance's data disk: the same files as a Local volume folder (box.qcow2 ram.img
/// device.state meta.json) plus its golden's boot files (vmlinuz initrd.img golden.json), since a disk
/// copied from the golden snapshot must boot on any instance. A fresh copy still carries the golden's
/// meta.json (its volume id is the golden version): the first call naming a volume id claims it; a disk
/// that belongs to another volume is refused, so the agent never runs the wrong box.
/// </summary>
internal sealed class DataDisk(AgentEnvironment environment)
{
    private static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(60);

    public string Folder => environment.UserData;

    private string MetaFile => Path.Combine(Folder, LocalFiles.VolumeMeta);

    /// <summary>The meta.json on the disk, or null when no volume is there (nothing mounted, or an empty disk).</summary>
    public VolumeMeta? Read()
    {
        try
        {
            return AtomicFile.ReadJson<VolumeMeta>(MetaFile);
        }
        catch (System.Text.Json.JsonException e)
        {
            throw ShellboxException.Service("VolumeCorrupt", $"{MetaFile} is not valid: {e.Message}", e);
        }
    }

    /// <summary>Whether the disk holds <paramref name="volumeId"/>, or a golden copy not yet claimed.</summary>
    public static bool Holds(VolumeMeta? meta, string volumeId) => meta is not null && (meta.VolumeId == volumeId || IsUnclaimedGoldenCopy(meta));

    /// <summary>The disk's volume as <paramref name="volumeId"/>, claiming a fresh golden copy; refuses another volume's disk.</summary>
    public async Task<VolumeMeta> OpenAsync(string volumeId, CancellationToken cancellationToken)
    {
        LocalLayout.CheckName(volumeId, "volume id");
        var meta = Read() ?? throw ShellboxException.NotFound("VolumeNotFound", $"There is no volume on the data disk at {Folder} (is volume '{volumeId}' attached at LUN 0 and mounted?).");
        if (meta.VolumeId == volumeId)
        {
            return meta;
        }

        if (!IsUnclaimedGoldenCopy(meta))
        {
            throw new ShellboxException(ShellboxErrorKind.Conflict, "VolumeNotAttached", $"The data disk on this instance holds volume '{meta.VolumeId}', not '{volumeId}'.");
        }

        return await UpdateAsync(m => IsUnclaimedGoldenCopy(m) ? m with { VolumeId = volumeId } : m, cancellationToken).ConfigureAwait(false) is { } claimed && claimed.VolumeId == volumeId
            ? claimed
            : throw new ShellboxException(ShellboxErrorKind.Conflict, "VolumeNotAttached", $"The data disk on this instance was just claimed by another volume than '{volumeId}'.");
    }

    /// <summary>
    /// A duplicate's disk at its first resume: its files still name the source volume <paramref name="sourceVolumeId"/>;
    /// they become <paramref name="volumeId"/>'s, with no pinned host key, so the copy is rekeyed like a fresh clone
    /// (the key it presents until then is the source's). A copy of a running box takes the device state saved for it
    /// (<see cref="CopyHold"/>); any other copy's left there is dropped. A disk naming anything else is left alone for
    /// OpenAsync to refuse.
    /// </summary>
    public async Task ClaimCopyAsync(string volumeId, string sourceVolumeId, CancellationToken cancellationToken)
    {
        LocalLayout.CheckName(volumeId, "volume id");
        if (Read() is not { } meta || meta.VolumeId != sourceVolumeId)
        {
            return;
        }

        var saved = Path.Combine(CopyHold.StateFolder(Folder, volumeId), LocalFiles.DeviceState);
        if (File.Exists(saved))
        {
            File.Move(saved, Path.Combine(Folder, LocalFiles.DeviceState), overwrite: true);
        }

        foreach (var other in Directory.EnumerateDirectories(Folder, ".copy-*"))
        {
            Directory.Delete(other, recursive: true);
        }

        AtomicFile.SyncDirectory(Folder);
        await UpdateAsync(m => m.VolumeId == sourceVolumeId ? m with { VolumeId = volumeId, HostKey = null, GoldenHostKey = m.HostKey ?? m.GoldenHostKey, UserId = null, BoxName = null, Hostname = null } : m, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Changes meta.json under the agent's lock; returns the new content.</summary>
    public async Task<VolumeMeta> UpdateAsync(Func<VolumeMeta, VolumeMeta> change, CancellationToken cancellationToken)
    {
        using var _ = await LockAsync(cancellationToken).ConfigureAwait(false);
        var meta = Read() ?? throw ShellboxException.NotFound("VolumeNotFound", $"There is no volume on the data disk at {Folder}.");
        var changed = change(meta);
        AtomicFile.WriteJson(MetaFile, changed);
        return changed;
    }

    /// <summary>Writes the first meta.json of a disk (the golden build), replacing what was there.</summary>
    public async Task WriteAsync(VolumeMeta meta, CancellationToken cancellationToken)
    {
        using var _ = await LockAsync(cancellationToken).ConfigureAwait(false);
        AtomicFile.WriteJson(MetaFile, meta);
    }

    public void DeleteMeta() => File.Delete(MetaFile);

    /// <summary>Where the disk's box runs on this instance, as the shared QEMU code sees it.</summary>
    public BoxSite Site(string volumeId) => new(
        environment.InstanceName,
        volumeId,
        Folder,
        environment.RunFolder,
        environment.BoxAddress,
        environment.BoxPort,
        UpdateAsync);

    // The golden build names the disk after its golden version; a volume id never is one.
    private static bool IsUnclaimedGoldenCopy(VolumeMeta meta) => meta.VolumeId == meta.Golden;

    private Task<FolderLock> LockAsync(CancellationToken cancellationToken) =>
        FolderLock.AcquireAsync(Path.Combine(environment.Home, ".meta.lock"), LockTimeout, cancellationToken);
}
