using System.Diagnostics;
using System.Net.Sockets;
using Shellbox.Core.Errors;
using Shellbox.Local.Files;
using Shellbox.Local.Qemu;

namespace Shellbox.Local.Network;

/// <summary>
/// The box namespace's only way out: slirp4netns, run on the bastion's side, connects the namespace's tap0
/// to the bastion's network from user space. With --disable-host-loopback its gateway does not lead to the
/// bastion's loopback; <see cref="HostDestinations"/> closes the bastion's other addresses inside the
/// namespace. Its API publishes the box's SSH port on the bastion (127.0.0.1:PORT locally, the instance's
/// private address on Azure), as QEMU's own forward did before. It ends when QEMU ends (--exit-fd on a fifo
/// QEMU holds), however QEMU ends: nothing outlives the box.
/// </summary>
internal static class SlirpNetwork
{
    private static readonly TimeSpan SetupTimeout = TimeSpan.FromSeconds(10);

    // setsid: a Ctrl+C in the user's terminal must not reach it; it outlives the process that started it.
    // --enable-sandbox --enable-seccomp (as podman runs it): it parses the box's packets, so once set up it
    // keeps only CAP_NET_BIND_SERVICE, an empty root and a syscall filter. Its pid goes to net.pid.
    private const string Script =
        "rm -f \"$1/net.sock\"; echo $$ >\"$1/net.pid\"; exec slirp4netns --configure --mtu=65520 --disable-host-loopback --enable-sandbox --enable-seccomp " +
        "--api-socket \"$1/net.sock\" --exit-fd=3 --ready-fd=4 \"$2\" tap0 3<\"$1/net.exit\" 4>\"$1/net.ready\" </dev/null >>\"$1/net.log\" 2>&1";

    /// <summary>Connects the namespace QEMU is being started in, once it exists, and publishes the box's SSH port.</summary>
    public static async Task AttachAsync(QemuProcess process, string hostAddress, int port, CancellationToken cancellationToken)
    {
        await WaitForNamespaceAsync(process, cancellationToken).ConfigureAwait(false);
        await StartAndPublishAsync(process, hostAddress, port, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// For a box found running: its SSH port is published (a starter killed half-way may not have done it),
    /// and a slirp4netns that died (killed, OOM) is replaced; the box keeps running throughout.
    /// </summary>
    public static async Task EnsureAsync(QemuProcess process, string hostAddress, int port, CancellationToken cancellationToken)
    {
        IReadOnlyList<int> ports;
        try
        {
            ports = await SlirpApi.ForwardedPortsAsync(BoxNamespace.ApiSocket(process.RunFolder), cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException)
        {
            await StartAndPublishAsync(process, hostAddress, port, cancellationToken).ConfigureAwait(false);
            return;
        }

        if (!ports.Contains(port))
        {
            await PublishAsync(process, hostAddress, port, cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task StartAndPublishAsync(QemuProcess process, string hostAddress, int port, CancellationToken cancellationToken)
    {
        using var slirp = Start(process);
        var deadline = DateTime.UtcNow + SetupTimeout;
        while (true)
        {
            if (slirp.HasExited)
            {
                throw Failed(process, "slirp4netns ended before the box network was up; is slirp4netns installed?");
            }

            if (!process.IsAlive)
            {
                throw process.Failed("QemuExited", "The box's network namespace ended before its network was up");
            }

            if (File.Exists(BoxNamespace.ApiSocket(process.RunFolder)))
            {
                try
                {
                    await PublishAsync(process, hostAddress, port, cancellationToken).ConfigureAwait(false);
                    return;
                }
                catch (SocketException) when (DateTime.UtcNow < deadline)
                {
                    // bound but not listening yet
                }
            }

            if (DateTime.UtcNow >= deadline)
            {
                throw Failed(process, $"slirp4netns did not bring the box network up within {SetupTimeout.TotalSeconds:0} s");
            }

            await Task.Delay(2, cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task PublishAsync(QemuProcess process, string hostAddress, int port, CancellationToken cancellationToken)
    {
        try
        {
            await SlirpApi.AddForwardAsync(BoxNamespace.ApiSocket(process.RunFolder), hostAddress, port, BoxNamespace.InsideAddress, port, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            throw ShellboxException.Service("PortInUse", $"The box's SSH port {port} could not be published on {hostAddress} ({e.Message}); is another program using it?", e);
        }
    }

    private static Process Start(QemuProcess process)
    {
        var start = new ProcessStartInfo("setsid") { UseShellExecute = false };
        foreach (var argument in (string[])["sh", "-c", Script, "sh", process.RunFolder, process.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            start.ArgumentList.Add(argument);
        }

        return Process.Start(start) ?? throw ShellboxException.Service("BoxNetworkFailed", "Cannot start slirp4netns through setsid.");
    }

    /// <summary>Waits until QEMU's starter has made the namespaces and holds the fifos slirp4netns attaches through.</summary>
    private static async Task WaitForNamespaceAsync(QemuProcess process, CancellationToken cancellationToken)
    {
        var ready = BoxNamespace.ReadyFifo(process.RunFolder);
        var deadline = DateTime.UtcNow + SetupTimeout;
        while (LinkTarget($"/proc/{process.Pid}/fd/8") != ready)
        {
            if (!process.IsAlive)
            {
                throw process.Failed("QemuExited", "The box's network namespace could not be made");
            }

            if (DateTime.UtcNow >= deadline)
            {
                throw process.Failed("BoxNetworkFailed", $"The box's network namespace was not made within {SetupTimeout.TotalSeconds:0} s");
            }

            await Task.Delay(1, cancellationToken).ConfigureAwait(false);
        }
    }

    private static string? LinkTarget(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static ShellboxException Failed(QemuProcess process, string what)
    {
        var log = BoxNamespace.Log(process.RunFolder);
        var said = File.Exists(log) ? ExternalTool.LastLine(File.ReadAllText(log)) : null;
        return ShellboxException.Service("BoxNetworkFailed", $"{what}{(said is null ? "" : $": {said}")} (log: {log}).");
    }
}
