using System.Net.Sockets;
using System.Text;

namespace Shellbox.Azure.Golden;

/// <summary>Whether an sshd answers at an address: it sends its "SSH-2.0-..." banner first, before any key exchange.</summary>
internal static class SshBanner
{
    public static async Task<bool> AnswersAsync(string host, int port, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        attempt.CancelAfter(timeout);
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(host, port, attempt.Token).ConfigureAwait(false);
            var buffer = new byte[256];
            var read = await client.GetStream().ReadAsync(buffer, attempt.Token).ConfigureAwait(false);
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("SSH-", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is SocketException or IOException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return false; // not up yet
        }
    }
}
