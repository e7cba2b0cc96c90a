using System.Diagnostics;
using System.Text.RegularExpressions;
using Shellbox.ArmEmulator.Arm;

namespace Shellbox.ArmEmulator.Storage;

/// <summary>Disk and snapshot contents: one folder each under the data directory. Copies keep holes and share
/// blocks where the file system can (the folders hold a qcow2 and a 256 MiB RAM file).</summary>
internal sealed partial class FolderStore(string dataDirectory)
{
    public string DiskFolder(string name) => Path.Combine(dataDirectory, "disks", name);

    public string SnapshotFolder(string name) => Path.Combine(dataDirectory, "snapshots", name);

    /// <summary>Compute resource names: letters, digits, '_', '-', '.'; never a path (ARM rejects others too).</summary>
    public static void RequireValidName(string name, string kind)
    {
        if (!ResourceName().IsMatch(name))
            throw ArmException.BadRequest($"The {kind} name '{name}' is invalid: use 1-80 letters, digits, '_', '-' or '.', starting with a letter, digit or '_'.", "InvalidResourceName");
    }

    public static void CreateEmpty(string folder)
    {
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        Directory.CreateDirectory(folder);
    }

    public static async Task CopyAsync(string source, string destination, CancellationToken ct)
    {
        if (!Directory.Exists(source)) throw new ArmException(500, "InternalServerError", "The source's content is missing.");
        if (Directory.Exists(destination)) Directory.Delete(destination, recursive: true);
        Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
        var start = new ProcessStartInfo("cp") { RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { "-a", "--sparse=always", "--reflink=auto", "--", source, destination })
            start.ArgumentList.Add(argument);
        using var copy = Process.Start(start) ?? throw new InvalidOperationException("cp did not start");
        var errors = copy.StandardError.ReadToEndAsync(ct);
        await copy.WaitForExitAsync(ct).ConfigureAwait(false);
        if (copy.ExitCode != 0)
            throw new ArmException(500, "InternalServerError", $"Copying the content failed: {(await errors.ConfigureAwait(false)).Trim()}");
    }

    public static void Delete(string folder)
    {
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
    }

    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}$")]
    private static partial Regex ResourceName();
}
