using Shellbox.Core.Errors;
using Shellbox.Core.Model;
using Shellbox.Local.Files;

namespace Shellbox.Local.Infrastructure;

/// <summary>
/// Copies one volume folder into a new one (a duplicate box): box.qcow2 (an overlay keeps its golden backing
/// file), ram.img sparse, device.state, and a meta.json that makes the copy rekey at its first resume like a
/// fresh golden clone (no pinned host key; the key it presents until then is the source's). The copy is built
/// in a dot-folder (never listed) and renamed into place last, so a crash leaves nothing that counts; the
/// source is only read.
/// </summary>
internal sealed class VolumeCopy(LocalState state, TimeProvider time)
{
    /// <summary>Prefix of a copy's work folder under volumes/: swept when the copy volume is deleted.</summary>
    public static string WorkPrefix(string copyVolumeId) => $".{copyVolumeId}.copy-";

    /// <summary>Starts a copy: the work folder, refused when the copy volume exists already.</summary>
    public string Begin(string copyVolumeId)
    {
        if (Directory.Exists(state.Layout.Volume(copyVolumeId)))
        {
            throw new ShellboxException(ShellboxErrorKind.Conflict, "VolumeExists", $"Volume '{copyVolumeId}' already exists; a copy never overwrites a volume.");
        }

        Directory.CreateDirectory(state.Layout.VolumesRoot);
        var work = Path.Combine(state.Layout.VolumesRoot, $"{WorkPrefix(copyVolumeId)}{Guid.NewGuid():N}");
        Directory.CreateDirectory(work);
        return work;
    }

    /// <summary>Copies the disk and the RAM file (and the device state when asked) from the source folder into the work folder.</summary>
    public static async Task CopyFilesAsync(string sourceFolder, string work, bool deviceState, CancellationToken cancellationToken)
    {
        // A volume never resumed may still keep its RAM in its golden (meta.json says so, and the copy inherits that).
        var files = new[] { LocalFiles.Disk, LocalFiles.Ram }.Select(f => Path.Combine(sourceFolder, f)).Where(File.Exists).ToList();
        await SparseCopy.RunAsync(files, work, cancellationToken).ConfigureAwait(false);
        if (deviceState && File.Exists(Path.Combine(sourceFolder, LocalFiles.DeviceState)))
        {
            File.Copy(Path.Combine(sourceFolder, LocalFiles.DeviceState), Path.Combine(work, LocalFiles.DeviceState));
        }
    }

    /// <summary>Writes the copy's meta.json, flushes its files and renames the work folder into place.</summary>
    public void Commit(string work, VolumeMeta source, string copyVolumeId, IReadOnlyDictionary<string, string> tags, string? machineFingerprint = null, string? machineDescription = null)
    {
        var readWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        foreach (var file in new[] { LocalFiles.Disk, LocalFiles.Ram, LocalFiles.DeviceState }.Select(f => Path.Combine(work, f)).Where(File.Exists))
        {
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(file, readWrite);
            }

            AtomicFile.Sync(file);
        }

        var now = time.GetUtcNow();
        var meta = source with
        {
            VolumeId = copyVolumeId,
            Created = now,
            UserId = tags.GetValueOrDefault(TagKeys.UserId),
            BoxName = tags.GetValueOrDefault(TagKeys.BoxName),
            MachineFingerprint = machineFingerprint ?? source.MachineFingerprint,
            MachineDescription = machineDescription ?? source.MachineDescription,

            // What the copy's guest presents until its first resume gives it its own key: the source's.
            GoldenHostKey = source.HostKey ?? source.GoldenHostKey,
            HostKey = null,
            LastResumed = null,
            LastSuspended = now,
            Tags = new Dictionary<string, string>(tags),
        };
        AtomicFile.WriteJson(Path.Combine(work, LocalFiles.VolumeMeta), meta);
        Directory.Move(work, state.Layout.Volume(copyVolumeId));
        AtomicFile.SyncDirectory(state.Layout.VolumesRoot);
    }

    /// <summary>Removes the work folders of a copy that never finished (a crash, or a failed copy).</summary>
    public void Sweep(string copyVolumeId)
    {
        if (!Directory.Exists(state.Layout.VolumesRoot))
        {
            return;
        }

        foreach (var work in Directory.EnumerateDirectories(state.Layout.VolumesRoot, WorkPrefix(copyVolumeId) + "*"))
        {
            Discard(work);
        }
    }

    /// <summary>Deletes a copy's work folder; one left behind is swept when its volume is deleted.</summary>
    public static void Discard(string work) => WorkFolder.TryDelete(work, "Shellbox.Local.Infrastructure");
}
