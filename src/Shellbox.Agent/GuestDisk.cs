using System.Globalization;
using Shellbox.Core.Errors;

namespace Shellbox.Agent;

/// <summary>
/// The size of the box's own disk (box.qcow2's virtual size) on a volume of a given size. The volume's
/// filesystem holds that disk and the box's RAM file beside it, so the guest disk is the volume less the RAM,
/// the boot files and the filesystem's own overhead (ext4: about 2 % for inode tables and journal). It is
/// sparse: it takes room only as the box writes, so a large one costs nothing until used; but sized like this,
/// a box that fills its disk cannot fill the volume under its own RAM file.
/// </summary>
internal static class GuestDisk
{
    private const double FilesystemShare = 0.97;
    private const int BootFilesMiB = 256;

    /// <param name="volumeGiB">build-golden's --volume-gib (the managed disk's size), or null for the instance's setting.</param>
    public static int SizeGiB(string? volumeGiB, AgentEnvironment environment)
    {
        if (volumeGiB is null)
        {
            return environment.DiskGiB;
        }

        if (!int.TryParse(volumeGiB, NumberStyles.None, CultureInfo.InvariantCulture, out var volume) || volume is < 1 or > 32767)
        {
            throw ShellboxException.User("VolumeSizeInvalid", $"--volume-gib must be a whole number of GiB from 1 to 32767, not '{volumeGiB}'.");
        }

        var size = (int)Math.Floor((volume * FilesystemShare) - ((environment.MemoryMiB + BootFilesMiB) / 1024.0));
        return size >= 1
            ? size
            : throw ShellboxException.User("VolumeSizeInvalid", $"A volume of {volume} GiB has no room for a box with {environment.MemoryMiB} MiB of RAM and a disk of at least 1 GiB.");
    }
}
