using System.Buffers.Binary;
using System.Globalization;
using System.Net.Sockets;

namespace Shellbox.PowerShell.FrontDoor;

/// <summary>Who is at the other end of a Unix socket (SO_PEERCRED), and who we are: Linux only, like the bastion.</summary>
internal static class PeerCredentials
{
    private const int SolSocket = 1;
    private const int SoPeerCred = 17;

    /// <summary>The uid of the process that connected; -1 when it cannot be read.</summary>
    public static long UserId(Socket socket)
    {
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
        var ucred = new byte[12];
        try
        {
            return socket.GetRawSocketOption(SolSocket, SoPeerCred, ucred) == 12 ? BinaryPrimitives.ReadUInt32LittleEndian(ucred.AsSpan(4)) : -1;
        }
        catch (Exception e) when (e is SocketException or PlatformNotSupportedException)
        {
            return -1;
        }
    }

    /// <summary>This process's effective uid, from /proc/self/status (Uid: real effective saved fs).</summary>
    public static long OwnUserId()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("Uid:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[2], CultureInfo.InvariantCulture);
            }
        }

        return -2;
    }
}
