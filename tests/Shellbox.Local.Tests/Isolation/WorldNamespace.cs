using System.Diagnostics;
using Shellbox.Local.Files;

namespace Shellbox.Local.Tests.Isolation;

/// <summary>
/// A stand-in for "the world outside" that a box must still reach: a network namespace of the test's own,
/// joined to the host by a point-to-point veth (host 10.203.N.1, world 10.203.N.2), with a TCP server that
/// greets every connection and a DNS server that answers every A query with its own address. Traffic never
/// leaves the machine. The namespace lives as long as its holder process: killing it on dispose removes the
/// namespace and the veth with it, whatever the test did.
/// </summary>
public sealed class WorldNamespace : IAsyncDisposable
{
    public const int TcpPort = 8080;
    public const string Greeting = "world-hello";

    // Answers A queries with the server's address; other types with no answer (busybox nslookup also asks AAAA).
    private const string ServerScript = """
        import socket, sys, threading
        addr, port = sys.argv[1], int(sys.argv[2])
        tcp = socket.socket(); tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); tcp.bind((addr, port)); tcp.listen(16)
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); udp.bind((addr, 53))
        def dns():
            while True:
                query, peer = udp.recvfrom(512)
                end = 12
                while query[end] != 0:
                    end += query[end] + 1
                question = query[12:end + 5]
                is_a = query[end + 1:end + 3] == b'\x00\x01'
                answer = b'\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04' + socket.inet_aton(addr) if is_a else b''
                udp.sendto(query[:2] + b'\x81\x80\x00\x01' + (b'\x00\x01' if is_a else b'\x00\x00') + b'\x00\x00\x00\x00' + question + answer, peer)
        threading.Thread(target=dns, daemon=True).start()
        print('ready', flush=True)
        while True:
            connection, _ = tcp.accept()
            connection.sendall(b'world-hello\n')
            connection.close()
        """;

    private readonly Process holder;
    private readonly List<Process> servers = [];

    private WorldNamespace(Process holder, string hostInterface, int subnet)
    {
        this.holder = holder;
        HostInterface = hostInterface;
        HostAddress = $"10.203.{subnet}.1";
        Address = $"10.203.{subnet}.2";
    }

    /// <summary>The world server's address, reachable from the host through the veth.</summary>
    public string Address { get; }

    /// <summary>The host's end of the veth: an address of the bastion, which a box must not reach.</summary>
    public string HostAddress { get; }

    public string HostInterface { get; }

    public static async Task<WorldNamespace> CreateAsync()
    {
        var holder = Process.Start(new ProcessStartInfo("unshare", ["--net", "sleep", "infinity"]) { UseShellExecute = false })
            ?? throw new InvalidOperationException("unshare did not start");
        var world = new WorldNamespace(holder, $"sbxw{Random.Shared.Next(0x10000):x4}", Random.Shared.Next(1, 250));
        try
        {
            await world.WaitForOwnNamespaceAsync();
            var pid = holder.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
            await Run("ip", "link", "add", world.HostInterface, "type", "veth", "peer", "name", "world0", "netns", pid);
            await Run("ip", "addr", "add", world.HostAddress, "peer", world.Address + "/32", "dev", world.HostInterface);
            await Run("ip", "link", "set", world.HostInterface, "up");
            await Run("nsenter", "-t", pid, "-n", "ip", "addr", "add", world.Address, "peer", world.HostAddress + "/32", "dev", "world0");
            await Run("nsenter", "-t", pid, "-n", "ip", "link", "set", "world0", "up");
            await Run("nsenter", "-t", pid, "-n", "ip", "link", "set", "lo", "up");
            await world.StartServerAsync(pid);
            return world;
        }
        catch
        {
            await world.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in servers.Append(holder))
        {
            try
            {
                process.Kill();
                await process.WaitForExitAsync();
            }
            catch (InvalidOperationException)
            {
                // already gone
            }

            process.Dispose();
        }

        // The veth goes with the namespace; this only covers a holder that never got its namespace.
        await ExternalTool.TryRunAsync("ip", ["link", "del", HostInterface], CancellationToken.None);
    }

    private async Task WaitForOwnNamespaceAsync()
    {
        var own = new FileInfo("/proc/self/ns/net").LinkTarget;
        for (var i = 0; i < 500 && new FileInfo($"/proc/{holder.Id}/ns/net").LinkTarget == own; i++)
        {
            await Task.Delay(10);
        }
    }

    private async Task StartServerAsync(string pid)
    {
        var server = Process.Start(new ProcessStartInfo("nsenter", ["-t", pid, "-n", "python3", "-c", ServerScript, Address, TcpPort.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
        }) ?? throw new InvalidOperationException("python3 did not start");
        servers.Add(server);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var line = await server.StandardOutput.ReadLineAsync(timeout.Token);
        if (line != "ready")
        {
            throw new InvalidOperationException($"The world's servers did not start (python3 said '{line}').");
        }
    }

    private static Task Run(string file, params string[] arguments) => ExternalTool.RunAsync(file, arguments, CancellationToken.None);
}
