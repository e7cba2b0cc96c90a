using System.Diagnostics;
using System.Globalization;

namespace Shellbox.Azure.Tests.Runtime;

/// <summary>The QEMU an agent runs on an emulated instance, as its run folder's qemu.pid names it.</summary>
internal static class RunningQemu
{
    /// <summary>The process id of the QEMU running for the run folder, or null when none does (no pid file, or its process is gone).</summary>
    public static int? Pid(string runFolder)
    {
        var file = Path.Combine(runFolder, "qemu.pid");
        if (!File.Exists(file) || !int.TryParse(File.ReadAllText(file).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
        {
            return null;
        }

        try
        {
            using var process = Process.GetProcessById(pid);
            return process.HasExited || !process.ProcessName.StartsWith("qemu", StringComparison.Ordinal) ? null : pid;
        }
        catch (ArgumentException)
        {
            return null;
        }
    }
}
