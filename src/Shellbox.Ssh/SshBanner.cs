using System.Net.Sockets;
using System.Text;

namespace Shellbox.Ssh;

/// <summary>
/// Waits until a box's SSH server answers. A TCP connect is not enough: QEMU's user-mode network accepts
/// on the host side while nothing listens in the guest, so the box is up when "SSH-2.0-" arrives.
/// </summary>
public static class SshBanner
{
    /// <summary>True once the banner arrived; false when <paramref name="timeout"/> passed or <paramref name="keepWaiting"/> said stop.</summary>
    public static async Task<bool> WaitAsync(string host, int port, TimeSpan timeout, Func<bool> keepWaiting, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline && keepWaiting())
        {
            if (await TryReadBannerAsync(host, port, deadline, cancellationToken).ConfigureAwait(false))
            {
                return true;
            }

            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }

        return false;
    }

    private static async Task<bool> TryReadBannerAsync(string host, int port, DateTime deadline, CancellationToken cancellationToken)
    {
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var left = deadline - DateTime.UtcNow;
        attempt.CancelAfter(left < TimeSpan.FromSeconds(2) ? (left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1)) : TimeSpan.FromSeconds(2));
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(host, port, attempt.Token).ConfigureAwait(false);
            var buffer = new byte[8];
            var read = 0;
            while (read < buffer.Length)
            {
                var n = await socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, attempt.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    return false;
                }

                read += n;
            }

            return Encoding.ASCII.GetString(buffer) == "SSH-2.0-";
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }
}
