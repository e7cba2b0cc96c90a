using System.Net;
using System.Net.Sockets;

namespace Shellbox.Local.Ssh;

/// <summary>
/// Free loopback ports for QEMU's SSH forward, chosen below the kernel's ephemeral range: an outgoing
/// connection's local port lingers in TIME_WAIT and would make QEMU's bind of that port fail.
/// </summary>
internal static class LoopbackPorts
{
    /// <summary>The first of <paramref name="count"/> consecutive loopback ports that are free now.</summary>
    public static int FindFreeBlock(int count)
    {
        var ceiling = Math.Min(EphemeralRangeStart(), 65536) - count;
        for (var attempt = 0; attempt < 500; attempt++)
        {
            var start = Random.Shared.Next(10000, Math.Max(ceiling, 10001));
            if (Enumerable.Range(start, count).All(IsFree))
            {
                return start;
            }
        }

        throw new InvalidOperationException($"No {count} consecutive free loopback ports found below the ephemeral range.");
    }

    public static bool IsFree(int port) => IsFree(IPAddress.Loopback, port);

    public static bool IsFree(IPAddress address, int port)
    {
        try
        {
            var listener = new TcpListener(address, port);
            listener.Start();
            listener.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Waits (briefly) until the address and port can be bound; false when they stay taken.</summary>
    public static async Task<bool> WaitUntilFreeAsync(IPAddress address, int port, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!IsFree(address, port))
        {
            if (DateTime.UtcNow >= deadline)
            {
                return false;
            }

            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }

        return true;
    }

    private static int EphemeralRangeStart()
    {
        try
        {
            var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            return int.Parse(range[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            Core.Observability.ShellboxLog.Dropped("Shellbox.Local.Ports", "ephemeral port range unreadable, Linux's default 32768 is assumed", e, routine: true);
            return 32768; // Linux's default
        }
    }
}
