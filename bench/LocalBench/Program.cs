using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Shellbox.Core.Model;
using Shellbox.Core.Ports;
using Shellbox.Core.Settings;
using Shellbox.Local;
using Shellbox.Local.Infrastructure;
using Shellbox.Local.Runtime;

// LocalBench: times the box life cycle of the Local provider on this machine and prints p50/p95.
//   --cycles N        cycles of create volume / resume / suspend (default 10, at least 1)
//   --boxes N         boxes running at once for the memory figure (default 3)
//   --guest NAME      debian (default) or minimal: the guest the golden holds
//   --memory MiB      guest RAM per box (default: the guest's, 512 for debian, 256 for minimal)
//   --accel tcg|kvm   QEMU accelerator (default tcg)
//   --cache DIR       golden + control key cache (default <repo>/.cache, shared with the tests)
//   --state DIR       state folder (default: a new temp folder, removed at the end)
//   --base-port N     first loopback port (default 22600; keep it below the kernel's ephemeral port range)
var options = BenchOptions.Parse(args);
if (options is null)
{
    return 2;
}

var state = options.State ?? Directory.CreateTempSubdirectory("shellbox-bench-").FullName;
var settings = new ShellboxSettings
{
    Provider = ShellboxSettings.LocalProvider,
    StateDirectory = state,
    Pool = PoolConfig.Dev,
}.WithLocal(options.MemoryMiB is { } memory
    ? new LocalProviderSettings { Guest = options.Guest, MaxSlots = Math.Max(options.Boxes, 1), BasePort = options.BasePort, MemoryMiB = memory }
    : new LocalProviderSettings { Guest = options.Guest, MaxSlots = Math.Max(options.Boxes, 1), BasePort = options.BasePort });
var memoryMiB = settings.Local().MemoryMiB;
var providerOptions = new LocalProviderOptions
{
    GoldenDirectory = Path.Combine(options.Cache, "golden"),
    KeyDirectory = Path.Combine(options.Cache, "keys"),
    Accelerator = options.Accelerator,
};
var infrastructure = new LocalInfrastructure(settings, providerOptions);
var runtime = new QemuBoxRuntime(settings, providerOptions);
var none = new Dictionary<string, string>();

try
{
    Console.WriteLine($"LocalBench: {options.Guest} guest, {options.Cycles} cycles, {options.Boxes} boxes at once, {memoryMiB} MiB, {options.Accelerator}, {Environment.ProcessorCount} cores, state {state}");
    var clock = Stopwatch.StartNew();
    var golden = await infrastructure.EnsureGoldenSnapshotAsync(new Progress<ShellboxProgress>(p => Console.Error.WriteLine($"  golden: {p.Status}")));
    Console.WriteLine($"golden {golden.Version} ready in {clock.Elapsed.TotalSeconds:0.0} s");

    var samples = new Dictionary<string, List<double>>();
    void Add(string name, TimeSpan elapsed) => (samples.TryGetValue(name, out var list) ? list : samples[name] = []).Add(elapsed.TotalMilliseconds);
    var newVolumeMB = new List<double>();

    await infrastructure.CreateInstanceAsync("instance-bench", none);
    var port = options.BasePort; // slot 0
    for (var cycle = 0; cycle < options.Cycles; cycle++)
    {
        var volume = $"volume-bench-{cycle}";
        clock.Restart();
        await infrastructure.CreateVolumeAsync(volume, golden, none);
        Add("volume create", clock.Elapsed);
        newVolumeMB.Add(await DiskUsageMBAsync(Path.Combine(state, "volumes", volume)));
        await infrastructure.AttachAsync("instance-bench", volume, none);

        clock.Restart();
        await runtime.ResumeAsync("instance-bench", volume);
        Add("first resume, ready (RAM copy + rekey + clock)", clock.Elapsed);
        clock.Restart();
        await runtime.SuspendAsync("instance-bench", volume);
        Add("suspend", clock.Elapsed);

        // The banner is watched from outside, as a user's ssh would see it.
        clock.Restart();
        var banner = WaitForBannerAsync(port, clock);
        await runtime.ResumeAsync("instance-bench", volume);
        Add("resume, ready (clock set: guest agent, else SSH)", clock.Elapsed);
        Add("resume to SSH banner", await banner);
        clock.Restart();
        await runtime.SuspendAsync("instance-bench", volume);
        Add("suspend", clock.Elapsed);

        await infrastructure.DetachAsync("instance-bench", volume);
        await infrastructure.DeleteVolumeAsync(volume);
    }

    Console.WriteLine();
    Console.WriteLine($"{"operation",-46} {"n",4} {"p50 ms",9} {"p95 ms",9} {"max ms",9}");
    foreach (var (name, values) in samples)
    {
        Console.WriteLine($"{name,-46} {values.Count,4} {Percentile(values, 50),9:0.0} {Percentile(values, 95),9:0.0} {values.Max(),9:0.0}");
    }

    Console.WriteLine($"{"new volume on disk until written to (du, MB)",-46} {newVolumeMB.Count,4} {Percentile(newVolumeMB, 50),9:0.0} {Percentile(newVolumeMB, 95),9:0.0} {newVolumeMB.Max(),9:0.0}");

    await MeasureMemoryAsync();
    return 0;
}
finally
{
    await CleanUpAsync();
}

async Task MeasureMemoryAsync()
{
    var golden = (await infrastructure.GetGoldenSnapshotAsync())!;
    await infrastructure.DeleteInstanceAsync("instance-bench");
    var boxes = Enumerable.Range(0, options.Boxes).Select(i => (Instance: $"instance-rss-{i}", Volume: $"volume-rss-{i}")).ToList();
    foreach (var (instance, volume) in boxes)
    {
        await infrastructure.CreateInstanceAsync(instance, none);
        await infrastructure.CreateVolumeAsync(volume, golden, none);
        await infrastructure.AttachAsync(instance, volume, none);
    }

    var endpoints = await Task.WhenAll(boxes.Select(b => runtime.ResumeAsync(b.Instance, b.Volume)));
    await Task.WhenAll(endpoints.Select(e => runtime.RunAsync(e, "ls -R /usr >/dev/null; echo ok", TimeSpan.FromSeconds(60))));
    Console.WriteLine();
    Console.WriteLine($"resident memory of {boxes.Count} boxes running at once ({memoryMiB} MiB guests, after an SSH command):");
    foreach (var (instance, _) in boxes)
    {
        var pid = int.Parse(File.ReadAllText(Path.Combine(state, "instances", instance, "qemu.pid")), CultureInfo.InvariantCulture);
        Console.WriteLine($"  {instance}: VmRSS {Status(pid, "VmRSS")}, RssFile {Status(pid, "RssFile")} (guest RAM mapped from ram.img), RssAnon {Status(pid, "RssAnon")}");
    }

    await Task.WhenAll(boxes.Select(b => runtime.SuspendAsync(b.Instance, b.Volume)));
}

async Task CleanUpAsync()
{
    foreach (var instance in Directory.Exists(Path.Combine(state, "instances")) ? Directory.GetDirectories(Path.Combine(state, "instances")) : [])
    {
        var pidFile = Path.Combine(instance, "qemu.pid");
        if (File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile), out var pid))
        {
            try
            {
                using var process = Process.GetProcessById(pid);
                if (process.ProcessName.StartsWith("qemu", StringComparison.Ordinal))
                {
                    process.Kill();
                    await process.WaitForExitAsync();
                }
            }
            catch (ArgumentException)
            {
                // gone already
            }
        }
    }

    if (options.State is null)
    {
        Directory.Delete(state, recursive: true);
    }
}

static async Task<TimeSpan> WaitForBannerAsync(int port, Stopwatch clock)
{
    while (clock.Elapsed < TimeSpan.FromSeconds(60))
    {
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            // Short attempts: until `cont`, QEMU's user network accepts but the paused guest never answers, and a
            // connection queued then waits out slirp's retransmit timer. (The Debian guest's sshd runs with -r:
            // re-executed per connection, these probes kept it busy for good.)
            using var attempt = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
            await socket.ConnectAsync("127.0.0.1", port, attempt.Token);
            var buffer = new byte[8];
            var read = 0;
            while (read < 8 && await socket.ReceiveAsync(buffer.AsMemory(read), attempt.Token) is var n and > 0)
            {
                read += n;
            }

            if (Encoding.ASCII.GetString(buffer, 0, read) == "SSH-2.0-")
            {
                return clock.Elapsed;
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            // not up yet
        }

        await Task.Delay(5);
    }

    throw new TimeoutException("no SSH banner within 60 s");
}

static async Task<double> DiskUsageMBAsync(string folder)
{
    using var du = Process.Start(new ProcessStartInfo("du", ["-s", "-B1", folder]) { RedirectStandardOutput = true })!;
    var output = await du.StandardOutput.ReadToEndAsync();
    await du.WaitForExitAsync();
    return long.Parse(output.Split('\t')[0], CultureInfo.InvariantCulture) / 1e6;
}

static double Percentile(List<double> values, int percent)
{
    // Nearest rank: with 10 samples, p95 is the largest.
    var sorted = values.Order().ToList();
    var rank = (int)Math.Ceiling(percent / 100.0 * sorted.Count);
    return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
}

static string Status(int pid, string field) =>
    File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith(field + ":", StringComparison.Ordinal))?[(field.Length + 1)..].Trim() ?? "?";

internal sealed record BenchOptions(int Cycles, int Boxes, int? MemoryMiB, string Guest, string Accelerator, string Cache, string? State, int BasePort)
{
    public static BenchOptions? Parse(string[] args)
    {
        var result = new BenchOptions(10, 3, null, GuestKinds.Debian, "tcg", Path.Combine(RepositoryRoot(), ".cache"), null, 22600);
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--cycles" when int.TryParse(value, out var n) && n >= 1: result = result with { Cycles = n }; i++; break;
                case "--boxes" when int.TryParse(value, out var n) && n >= 1: result = result with { Boxes = n }; i++; break;
                case "--memory" when int.TryParse(value, out var n): result = result with { MemoryMiB = n }; i++; break;
                case "--accel" when value is "tcg" or "kvm": result = result with { Accelerator = value }; i++; break;
                case "--guest" when value is GuestKinds.Debian or GuestKinds.Minimal: result = result with { Guest = value }; i++; break;
                case "--cache" when value is not null: result = result with { Cache = Path.GetFullPath(value) }; i++; break;
                case "--state" when value is not null: result = result with { State = Path.GetFullPath(value) }; i++; break;
                case "--base-port" when int.TryParse(value, out var n): result = result with { BasePort = n }; i++; break;
                default:
                    Console.Error.WriteLine($"LocalBench: unknown or invalid argument '{args[i]}'. Arguments: --cycles N --boxes N --guest debian|minimal --memory MiB --accel tcg|kvm --cache DIR --state DIR --base-port N");
                    return null;
            }
        }

        return result;
    }

    private static string RepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "Shellbox.PowerShell.sln")))
            {
                return folder.FullName;
            }
        }

        return Directory.GetCurrentDirectory();
    }
}
