using System.Diagnostics;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Shellbox.Ssh;

namespace Shellbox.Local.Ssh;

/// <summary>
/// A multiplexed OpenSSH connection (ControlMaster) kept to each running box, so a user's session rides it and skips
/// the key exchange and login (about 0.65 s of a session's 0.85 s under TCG). The runtime starts it in the background
/// once a box answers SSH with its own host key, and stops it before the box suspends; a user's ssh adds the
/// ControlPath only when the socket exists, and OpenSSH connects directly by itself when the socket does not answer.
/// The master runs detached (own session, stdio on /dev/null): it outlives the process that resumed the box and holds
/// none of the wrapper's sshd session open.
/// </summary>
public static class BoxControlMaster
{
    /// <summary>The user the master logs in as: the login user of every session.</summary>
    public const string LoginUser = OpenSshClientOptions.LoginUser;

    // sun_path is 108 bytes on Linux and 104 on the BSDs, and ssh binds a temporary name 17 bytes longer first.
    private const int MaxSocketPathLength = 90;

    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(3);

    private static readonly TimeSpan StartDelay = TimeSpan.FromSeconds(1.5);

    /// <summary>
    /// The control socket of the box answering on host:port with that pinned key (known_hosts line), beside the control
    /// key; null when that path would be too long for a Unix socket (then there is no master).
    /// </summary>
    public static string? SocketPath(string controlKeyPath, string knownHostsLine)
    {
        var folder = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(controlKeyPath))!, "mux");
        var id = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(knownHostsLine)))[..16].ToLowerInvariant();
        var path = Path.Combine(folder, id + ".sock");
        return Encoding.UTF8.GetByteCount(path) <= MaxSocketPathLength ? path : null;
    }

    /// <summary>
    /// Starts a master to the box in the background (does not wait for its login) after removing any stale one;
    /// the socket appears once it has logged in. Does nothing where no socket path fits.
    /// </summary>
    internal static async Task StartAsync(string controlKeyPath, string host, int port, string knownHostsLine, CancellationToken cancellationToken)
    {
        if (OperatingSystem.IsWindows() || SocketPath(controlKeyPath, knownHostsLine) is not { } socket)
        {
            return;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(socket)!);
        await StopAsync(socket).ConfigureAwait(false);
        var knownHosts = Path.ChangeExtension(socket, ".known");
        await File.WriteAllTextAsync(knownHosts, knownHostsLine + "\n", cancellationToken).ConfigureAwait(false);

        // The master logs in StartDelay after the resume, so its key exchange does not compete on the box's emulated CPU
        // with the one of the session that resumed it (measured: +0.3 s on a returning box's connect); a box suspended
        // meanwhile has lost its known-hosts file and gets no master. setsid: no signal of the caller's session or terminal
        // reaches the waiting sh or the master; /dev/null first thing: neither holds a pipe of the caller's (an sshd session
        // stays open while any process holds its pipes).
        var start = new ProcessStartInfo("setsid")
        {
            UseShellExecute = false,
            ArgumentList =
            {
                "/bin/sh", "-c", "log=$1; known=$2; shift 2; exec </dev/null >/dev/null 2>\"$log\"; sleep $0; [ -e \"$known\" ] && exec \"$@\"",
                StartDelay.TotalSeconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture), Path.ChangeExtension(socket, ".log"), knownHosts,
                "ssh", "-M", "-N", "-f",
                "-o", "ControlPersist=yes", "-o", $"ControlPath={socket}",
                "-o", "BatchMode=yes", "-o", "ServerAliveInterval=15", "-o", "ConnectTimeout=10",
            },
        };
        foreach (var option in OpenSshClientOptions.ToBox(controlKeyPath, port, knownHosts))
        {
            start.ArgumentList.Add(option);
        }

        start.ArgumentList.Add($"{LoginUser}@{host}");
        using var process = Process.Start(start);
    }

    /// <summary>
    /// Starts a master for a box found running unless one answers or one is still starting (its known-hosts file is
    /// younger than its delay and login take): a second master on the same socket would run on as a plain connection.
    /// </summary>
    internal static async Task EnsureAsync(string controlKeyPath, string host, int port, string knownHostsLine, CancellationToken cancellationToken)
    {
        if (OperatingSystem.IsWindows() || SocketPath(controlKeyPath, knownHostsLine) is not { } socket || await IsLiveAsync(socket).ConfigureAwait(false))
        {
            return;
        }

        var knownHosts = Path.ChangeExtension(socket, ".known");
        if (File.Exists(knownHosts) && DateTime.UtcNow - File.GetLastWriteTimeUtc(knownHosts) < StartDelay + TimeSpan.FromSeconds(15))
        {
            return;
        }

        await StartAsync(controlKeyPath, host, port, knownHostsLine, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops the master of the box (if any) and removes its socket; never throws, never waits long.</summary>
    internal static Task StopAsync(string controlKeyPath, string knownHostsLine) =>
        OperatingSystem.IsWindows() || SocketPath(controlKeyPath, knownHostsLine) is not { } socket ? Task.CompletedTask : StopAsync(socket);

    /// <summary>
    /// True when a master listens on the socket: it accepts the connection (a master that died left a socket nobody
    /// accepts on). A connect, where `ssh -O check` would start a process on every claim of a running box.
    /// </summary>
    internal static async Task<bool> IsLiveAsync(string socket)
    {
        if (!File.Exists(socket))
        {
            return false;
        }

        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await probe.ConnectAsync(new UnixDomainSocketEndPoint(socket)).ConfigureAwait(false);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static async Task StopAsync(string socket)
    {
        if (File.Exists(socket))
        {
            await ControlAsync(socket, "exit").ConfigureAwait(false);
        }

        // The master removes its socket as it exits; a stale one (master killed) must not stay in the way.
        if (!Directory.Exists(Path.GetDirectoryName(socket)))
        {
            return;
        }

        File.Delete(socket);
        File.Delete(Path.ChangeExtension(socket, ".known"));
    }

    private static async Task<int> ControlAsync(string socket, string command)
    {
        var start = new ProcessStartInfo("ssh")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            ArgumentList = { "-F", "/dev/null", "-o", $"ControlPath={socket}", "-O", command, "shellbox-box" },
        };
        try
        {
            using var process = Process.Start(start)!;
            process.StandardInput.Close();
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(StopTimeout);
            try
            {
                await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                return -1;
            }

            await Task.WhenAll(output, error).ConfigureAwait(false);
            return process.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return -1;
        }
    }
}
