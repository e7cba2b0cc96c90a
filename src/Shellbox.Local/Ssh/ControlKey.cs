using Shellbox.Local.Files;

namespace Shellbox.Local.Ssh;

/// <summary>The key pair the control plane logs in to boxes with; made once with ssh-keygen, private part mode 600.</summary>
internal static class ControlKey
{
    /// <summary>Returns the private key path, generating the pair first if it is missing.</summary>
    public static async Task<string> EnsureAsync(string privateKeyPath, CancellationToken cancellationToken)
    {
        if (File.Exists(privateKeyPath) && File.Exists(privateKeyPath + ".pub"))
        {
            return privateKeyPath;
        }

        var directory = Path.GetDirectoryName(privateKeyPath)!;
        Directory.CreateDirectory(directory);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        using var _ = await FolderLock.AcquireAsync(Path.Combine(directory, ".keygen.lock"), TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
        if (File.Exists(privateKeyPath) && File.Exists(privateKeyPath + ".pub"))
        {
            return privateKeyPath;
        }

        // Generated beside the target and renamed: a crash never leaves a half-written pair.
        var temp = Path.Combine(directory, $".{Path.GetFileName(privateKeyPath)}.{Guid.NewGuid():N}");
        try
        {
            await ExternalTool.RunAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "shellbox-control", "-f", temp], cancellationToken, "ControlKeyGenerationFailed").ConfigureAwait(false);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite); // ssh-keygen does this too; be explicit
            }

            File.Move(temp + ".pub", privateKeyPath + ".pub", overwrite: true);
            File.Move(temp, privateKeyPath, overwrite: true);
            AtomicFile.SyncDirectory(directory);
        }
        finally
        {
            File.Delete(temp);
            File.Delete(temp + ".pub");
        }

        return privateKeyPath;
    }
}
