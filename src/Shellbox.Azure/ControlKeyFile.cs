using Shellbox.Azure.Arm;

namespace Shellbox.Azure;

/// <summary>
/// The control plane's key pair in OpenSSH form, made in-process (no ssh-keygen on an Azure Automation worker):
/// private part mode 600, written beside the target and renamed so a crash never leaves half a pair.
/// </summary>
internal static class ControlKeyFile
{
    public static string Ensure(string privateKeyPath)
    {
        if (File.Exists(privateKeyPath) && File.Exists(privateKeyPath + ".pub"))
        {
            return privateKeyPath;
        }

        var directory = Path.GetDirectoryName(privateKeyPath)!;
        Directory.CreateDirectory(directory);
        using var _ = Lock(Path.Combine(directory, ".keygen.lock"));
        if (File.Exists(privateKeyPath) && File.Exists(privateKeyPath + ".pub"))
        {
            return privateKeyPath; // another process made the pair while we waited
        }

        var key = InstanceHostKey.Generate("shellbox-control");
        var temp = Path.Combine(directory, $".{Path.GetFileName(privateKeyPath)}.{Guid.NewGuid():N}");
        try
        {
            File.WriteAllText(temp, key.PrivateKeyOpenSsh);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            File.WriteAllText(temp + ".pub", key.PublicKeyOpenSsh + " shellbox-control\n");
            File.Move(temp, privateKeyPath, overwrite: true);
            File.Move(temp + ".pub", privateKeyPath + ".pub", overwrite: true);
        }
        finally
        {
            File.Delete(temp);
            File.Delete(temp + ".pub");
        }

        return privateKeyPath;
    }

    /// <summary>An exclusive lock file, waited for up to 30 s (the OS releases it if the holder dies).</summary>
    private static FileStream Lock(string path)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(50);
            }
        }
    }
}
