using Shellbox.Core.Errors;

namespace Shellbox.Local.Files;

/// <summary>
/// A lock shared by every process on this machine that uses one state folder (each ssh session runs
/// its own pwsh). .NET takes an exclusive flock for <see cref="FileShare.None"/>, and the kernel drops it
/// when the holder dies, so a crashed holder never leaves the folder locked.
/// </summary>
internal sealed class FolderLock : IDisposable
{
    private readonly FileStream stream;

    private FolderLock(FileStream stream) => this.stream = stream;

    public static async Task<FolderLock> AcquireAsync(string lockFile, TimeSpan timeout, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(lockFile)!);
        var deadline = DateTime.UtcNow + timeout;
        var delay = TimeSpan.FromMilliseconds(5);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                return new FolderLock(new FileStream(lockFile, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 200));
            }
            catch (IOException e)
            {
                throw ShellboxException.Service("StateLocked", $"{lockFile} stayed locked by another Shellbox process for {timeout.TotalSeconds:0} s.", e);
            }
        }
    }

    public void Dispose() => stream.Dispose();
}
