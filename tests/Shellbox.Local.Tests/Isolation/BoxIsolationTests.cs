using System.Net;
using System.Net.Sockets;
using System.Text;
using Shellbox.Core.Ports;
using Shellbox.Local.Infrastructure;
using Shellbox.Local.Qemu;
using Shellbox.Local.Runtime;

namespace Shellbox.Local.Tests.Isolation;

/// <summary>
/// Tried from inside real boxes: a box reaches neither the bastion (its loopback through the gateway
/// 10.0.2.2, its other addresses) nor another box, and still reaches what the bastion reaches (TCP and
/// DNS to a "world" namespace of the test's own). Guest commands are busybox sh and its nc/nslookup.
/// </summary>
[Collection(GoldenCollection.Name)]
public sealed class BoxIsolationTests(GoldenFixture golden) : IAsyncLifetime
{
    private const string Secret = "bastion-secret";

    private readonly TempFolder folder = new("shellbox-isolation");
    private readonly List<TcpListener> listeners = [];
    private readonly CancellationTokenSource stop = new();
    private WorldNamespace world = null!;
    private Core.Settings.ShellboxSettings settings = null!;
    private LocalInfrastructure infrastructure = null!;
    private int accepted;

    public async Task InitializeAsync()
    {
        // Before any box starts: the box's namespace closes the bastion's addresses as they are at its start.
        world = await WorldNamespace.CreateAsync();
        settings = GoldenFixture.Settings(folder.Path, 2, GoldenFixture.FreePortBlock(2));
        infrastructure = new LocalInfrastructure(settings, golden.Options);
    }

    public async Task DisposeAsync()
    {
        await stop.CancelAsync();
        listeners.ForEach(l => l.Stop());
        await GoldenFixture.KillBoxesAsync(folder.Path);
        await world.DisposeAsync();
        folder.Dispose();
        stop.Dispose();
    }

    [Fact]
    public async Task A_box_reaches_neither_the_bastions_loopback_nor_its_other_addresses_nor_another_box()
    {
        var loopbackOnly = Listen(IPAddress.Loopback);   // a status server, a storage emulator
        var allAddresses = Listen(IPAddress.Any);        // the bastion's sshd
        var runtime = new QemuBoxRuntime(settings, golden.Options);
        var box = await StartBoxAsync(runtime, "a");
        var other = await StartBoxAsync(runtime, "b");

        var probes = await ProbeAsync(
            runtime,
            box,
            ("10.0.2.2", loopbackOnly),
            ("10.0.2.2", allAddresses),
            ("10.0.2.2", other.Port),
            ("10.0.2.2", box.Port),
            (world.HostAddress, allAddresses),
            (world.Address, WorldNamespace.TcpPort));

        // The last probe proves the probe itself connects and reads: the box reaches the world.
        Assert.Contains(WorldNamespace.Greeting, probes[^1]);
        foreach (var probe in probes[..^1])
        {
            Assert.DoesNotContain(Secret, probe);
            Assert.DoesNotContain("SSH-2.0", probe);
        }

        Assert.Equal(0, Volatile.Read(ref accepted));
    }

    [Fact]
    public async Task A_box_keeps_its_outbound_network_tcp_and_dns_to_what_the_bastion_reaches()
    {
        var runtime = new QemuBoxRuntime(settings, golden.Options with { BoxDnsServers = [world.Address] });
        var box = await StartBoxAsync(runtime, "a");

        var tcp = await runtime.RunAsync(box, $"nc -w 5 {world.Address} {WorldNamespace.TcpPort} </dev/null", TimeSpan.FromSeconds(30));
        Assert.Contains(WorldNamespace.Greeting, tcp.StdOut);

        // The guest's own resolver, 10.0.2.3, as every program in the box uses it (its resolv.conf).
        var dns = await runtime.RunAsync(box, "nslookup probe.shellbox.test 10.0.2.3", TimeSpan.FromSeconds(30));
        Assert.True(dns.ExitCode == 0, dns.StdOut + dns.StdErr);
        Assert.Contains(world.Address, dns.StdOut.Split("probe.shellbox.test")[^1]);
    }

    [Fact]
    public async Task The_box_network_lives_exactly_as_long_as_its_qemu_and_a_suspended_box_resumes_behind_it()
    {
        var runtime = new QemuBoxRuntime(settings, golden.Options);
        var box = await StartBoxAsync(runtime, "a");
        var run = folder.Combine("instances", "instance-a");
        var qemu = QemuProcess.Find(run)!;
        Assert.NotEqual(new FileInfo("/proc/self/ns/net").LinkTarget, new FileInfo($"/proc/{qemu.Pid}/ns/net").LinkTarget);

        // slirp4netns parses what the box sends: it runs sandboxed, with a syscall filter and no capability but
        // binding low ports (CAP_NET_BIND_SERVICE, bit 10).
        var status = File.ReadAllLines($"/proc/{Assert.Single(SlirpProcesses(run))}/status");
        Assert.Contains("CapEff:\t0000000000000400", status);
        Assert.Contains("Seccomp:\t2", status);

        await runtime.SuspendAsync("instance-a", "volume-a");
        Assert.Empty(SlirpProcesses(run));
        Assert.False(await AnswersAsync(box.Port));

        // The state just saved resumes, and the box answers on the same endpoint.
        box = await runtime.ResumeAsync("instance-a", "volume-a");
        Assert.Equal("up", (await runtime.RunAsync(box, "echo up", TimeSpan.FromSeconds(30))).StdOut.Trim());

        // However QEMU ends, its network ends with it.
        qemu = QemuProcess.Find(run)!;
        using (var process = System.Diagnostics.Process.GetProcessById(qemu.Pid))
        {
            process.Kill();
        }

        for (var i = 0; i < 200 && SlirpProcesses(run).Count > 0; i++)
        {
            await Task.Delay(10);
        }

        Assert.Empty(SlirpProcesses(run));
        Assert.False(await AnswersAsync(box.Port));
    }

    [Fact]
    public async Task A_running_box_whose_slirp4netns_died_gets_a_new_one_at_the_next_resume_and_keeps_running()
    {
        var runtime = new QemuBoxRuntime(settings, golden.Options);
        var box = await StartBoxAsync(runtime, "a");
        var run = folder.Combine("instances", "instance-a");
        await runtime.RunAsync(box, "echo kept > /tmp/kept", TimeSpan.FromSeconds(30));
        var qemu = QemuProcess.Find(run)!.Pid;

        using (var slirp = System.Diagnostics.Process.GetProcessById(Assert.Single(SlirpProcesses(run))))
        {
            slirp.Kill();
            await slirp.WaitForExitAsync();
        }

        Assert.False(await AnswersAsync(box.Port));

        box = await runtime.ResumeAsync("instance-a", "volume-a");
        Assert.Equal(qemu, QemuProcess.Find(run)!.Pid);
        Assert.Equal("kept", (await runtime.RunAsync(box, "cat /tmp/kept", TimeSpan.FromSeconds(30))).StdOut.Trim());
        var probe = await ProbeAsync(runtime, box, (world.Address, WorldNamespace.TcpPort), ("10.0.2.2", Listen(IPAddress.Loopback)));
        Assert.Contains(WorldNamespace.Greeting, probe[0]);
        Assert.DoesNotContain(Secret, probe[1]);
    }

    [Fact]
    public async Task A_start_whose_starter_died_before_the_network_was_up_is_replaced_by_the_next_resume()
    {
        // GIVEN a box suspended once, then a start left half-way: its namespace made, no slirp4netns (the
        // process that started it was killed there), so QEMU never ran
        var runtime = new QemuBoxRuntime(settings, golden.Options);
        await StartBoxAsync(runtime, "a");
        await runtime.SuspendAsync("instance-a", "volume-a");
        var run = folder.Combine("instances", "instance-a");
        var launch = runtime.LaunchFor("instance-a", "volume-a", incoming: true);
        var stranded = QemuProcess.Start(golden.Options.QemuBinary, runtime.Machine.Arguments(launch), run, null);
        for (var i = 0; i < 500 && (new FileInfo($"/proc/{stranded.Pid}/fd/8").LinkTarget?.EndsWith("net.ready", StringComparison.Ordinal) != true || Descendants(stranded.Pid).Count == 0); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(stranded.IsWaitingForNetwork);
        var waiting = Descendants(stranded.Pid);
        Assert.NotEmpty(waiting);

        // WHEN the box is resumed THEN the stranded starter is gone and the box runs from its saved state
        var box = await runtime.ResumeAsync("instance-a", "volume-a");
        Assert.False(stranded.IsAlive);
        Assert.All(waiting, pid => Assert.True(string.IsNullOrEmpty(CommandLine(pid)), $"the stranded starter's child {pid} ({CommandLine(pid)}) is still running"));
        Assert.NotEqual(stranded.Pid, QemuProcess.Find(run)!.Pid);
        Assert.Equal("up", (await runtime.RunAsync(box, "echo up", TimeSpan.FromSeconds(30))).StdOut.Trim());
    }

    private async Task<BoxEndpoint> StartBoxAsync(QemuBoxRuntime runtime, string name)
    {
        var none = new Dictionary<string, string>();
        await infrastructure.CreateInstanceAsync($"instance-{name}", none);
        await infrastructure.CreateVolumeAsync($"volume-{name}", golden.Golden, none);
        await infrastructure.AttachAsync($"instance-{name}", $"volume-{name}", none);
        return await runtime.ResumeAsync($"instance-{name}", $"volume-{name}");
    }

    /// <summary>What the box reads from each address and port (nc prints what the other side sends), one string per probe.</summary>
    private static async Task<string[]> ProbeAsync(QemuBoxRuntime runtime, BoxEndpoint box, params (string Host, int Port)[] targets)
    {
        var script = new StringBuilder();
        foreach (var (host, port) in targets)
        {
            script.Append($"echo '=={host}:{port}'; nc -w 3 {host} {port} </dev/null 2>&1; ");
        }

        var result = await runtime.RunAsync(box, script.ToString(), TimeSpan.FromSeconds(60));
        var parts = result.StdOut.Split("==", StringSplitOptions.RemoveEmptyEntries);
        Assert.True(parts.Length == targets.Length, $"The probes printed: {result.StdOut}{result.StdErr}");
        return parts;
    }

    private int Listen(IPAddress address)
    {
        var listener = new TcpListener(address, 0);
        listener.Start();
        listeners.Add(listener);
        _ = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using var client = await listener.AcceptTcpClientAsync(stop.Token);
                    Interlocked.Increment(ref accepted);
                    await client.GetStream().WriteAsync(Encoding.ASCII.GetBytes(Secret + "\n"), stop.Token);
                }
                catch (Exception e) when (e is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
                {
                    return;
                }
            }
        });
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task<bool> AnswersAsync(int port)
    {
        using var client = new TcpClient();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    private static List<int> SlirpProcesses(string runFolder) =>
        Directory.EnumerateDirectories("/proc")
            .Select(d => int.TryParse(Path.GetFileName(d), out var pid) ? pid : 0)
            .Where(pid => pid > 0 && CommandLine(pid) is { } line && line.StartsWith("slirp4netns", StringComparison.Ordinal) && line.Contains(runFolder, StringComparison.Ordinal))
            .ToList();

    /// <summary>A process's descendants now; one that ends while it is read has none (a short-lived child, e.g. a probe).</summary>
    private static List<int> Descendants(int pid)
    {
        string children;
        try
        {
            children = File.ReadAllText($"/proc/{pid}/task/{pid}/children");
        }
        catch (Exception e) when (e is DirectoryNotFoundException or FileNotFoundException)
        {
            return [];
        }

        return children.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(int.Parse)
            .SelectMany(child => Descendants(child).Prepend(child))
            .ToList();
    }

    private static string? CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
