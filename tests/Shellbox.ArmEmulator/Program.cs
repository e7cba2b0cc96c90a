using System.Runtime.InteropServices;
using Shellbox.ArmEmulator;
using Shellbox.ArmEmulator.Hosts;

// Standalone host: dotnet run --project tests/Shellbox.ArmEmulator -- [--port N] [--latency none|seed-scaled] [--data DIR] [--log]
//   [--vm-host sshd --agent DIR --instance-ssh-port N [--golden-cache DIR]]
// Prints one "key: value" line per endpoint fact, then serves until Ctrl+C or SIGTERM. With --vm-host sshd every
// VM is a real sshd on its loopback address running the built shellbox-agent (VMs' admin user: root).
const string Usage = "usage: [--port N] [--latency none|seed-scaled] [--data DIR] [--log] [--vm-host sshd --agent DIR --instance-ssh-port N [--golden-cache DIR]]";
var port = 0;
var latency = LatencyProfile.None;
string? data = null;
var log = false;
var sshdHosts = false;
string? agent = null;
string? goldenCache = null;
var instanceSshPort = 22;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--port" when i + 1 < args.Length && int.TryParse(args[i + 1], out var p):
            port = p;
            i++;
            break;
        case "--latency" when i + 1 < args.Length && args[i + 1] is "none" or "seed-scaled":
            latency = args[++i] == "none" ? LatencyProfile.None : LatencyProfile.SeedScaled;
            break;
        case "--data" when i + 1 < args.Length:
            data = Path.GetFullPath(args[++i]);
            break;
        case "--log":
            log = true;
            break;
        case "--vm-host" when i + 1 < args.Length && args[i + 1] is "sshd" or "none":
            sshdHosts = args[++i] == "sshd";
            break;
        case "--agent" when i + 1 < args.Length:
            agent = Path.GetFullPath(args[++i]);
            break;
        case "--golden-cache" when i + 1 < args.Length:
            goldenCache = Path.GetFullPath(args[++i]);
            break;
        case "--instance-ssh-port" when i + 1 < args.Length && int.TryParse(args[i + 1], out var sshPort) && sshPort is > 0 and < 65536:
            instanceSshPort = sshPort;
            i++;
            break;
        default:
            Console.Error.WriteLine($"unknown argument '{args[i]}'. {Usage}");
            return 2;
    }
}
data ??= Path.Combine(Path.GetTempPath(), $"shellbox-arm-emulator-{Environment.ProcessId}");
if (sshdHosts && (agent is null || !File.Exists(Path.Combine(agent, "shellbox-agent"))))
{
    Console.Error.WriteLine($"--vm-host sshd needs --agent DIR holding the built shellbox-agent. {Usage}");
    return 2;
}

await using var vmHost = sshdHosts
    ? new SshdVmHost(new SshdVmHostOptions
    {
        DataDirectory = Path.Combine(data, "vms"),
        AgentDirectory = agent!,
        InstanceSshPort = instanceSshPort,
        Environment = goldenCache is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["SHELLBOX_GOLDEN_CACHE"] = goldenCache },
    })
    : null;
await using var server = await ArmEmulatorServer.StartAsync(new ArmEmulatorOptions { Port = port, Latency = latency, DataDirectory = data, VmHost = vmHost });
if (log) server.Requests.Recorded += entry => Console.WriteLine(entry);
Console.WriteLine($"base-url: {server.BaseUri}");
Console.WriteLine($"cert-pem: {server.CertificatePemPath}");
Console.WriteLine($"subscription-id: {server.SubscriptionId}");
Console.WriteLine($"resource-group: {server.ResourceGroup}");
Console.WriteLine($"location: {server.Location}");
Console.WriteLine($"identity-endpoint: {server.ManagedIdentityEndpoint}");
Console.WriteLine($"identity-header: {server.ManagedIdentityHeader}");
Console.WriteLine($"data-directory: {data}");
Console.WriteLine($"vm-host: {(sshdHosts ? $"sshd on each VM's address, port {instanceSshPort}" : "none (ARM only)")}");
Console.Out.Flush();

var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, context =>
{
    context.Cancel = true;
    stop.TrySetResult();
});
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    stop.TrySetResult();
});
await stop.Task;
Console.WriteLine("stopping");
return 0;
