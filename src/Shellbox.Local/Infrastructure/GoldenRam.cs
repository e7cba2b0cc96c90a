using Shellbox.Local.Files;
using Shellbox.Local.Runtime;

namespace Shellbox.Local.Infrastructure;

/// <summary>
/// A new volume leans on its golden's RAM file instead of holding a copy (512 MiB for the Debian guest,
/// against a budget of 50 MB per new volume). The first resume copies it in, sparsely, before QEMU maps it;
/// that resume happens when a pool pairs the volume, before any user waits on it.
/// </summary>
internal static class GoldenRam
{
    /// <summary>Copies the golden's RAM file into the volume when it is not there yet; returns the meta as it now is.</summary>
    public static async Task<VolumeMeta> EnsureCopiedAsync(BoxSite site, VolumeMeta meta, CancellationToken cancellationToken)
    {
        if (!meta.RamInGolden)
        {
            return meta;
        }

        var ram = Path.Combine(site.VolumeFolder, LocalFiles.Ram);
        if (!File.Exists(ram))
        {
            // Copied beside it and renamed: a crash mid-copy leaves no RAM file that looks complete.
            var golden = Path.GetFullPath(Path.Combine(site.VolumeFolder, meta.GoldenLocation));
            var partial = Path.Combine(site.VolumeFolder, $".{LocalFiles.Ram}.partial");
            await SparseCopy.RunAsync([Path.Combine(golden, LocalFiles.Ram)], partial, cancellationToken).ConfigureAwait(false);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(partial, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            AtomicFile.Sync(partial);
            File.Move(partial, ram);
            AtomicFile.SyncDirectory(site.VolumeFolder);
        }

        return await site.UpdateMetaAsync(m => m with { RamInGolden = false }, cancellationToken).ConfigureAwait(false);
    }
}
