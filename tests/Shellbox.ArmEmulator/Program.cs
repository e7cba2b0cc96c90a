using System.Runtime.InteropServices;
using Shellbox.ArmEmulator;

// Standalone host: dotnet run --project tests/Shellbox.ArmEmulator -- [--port N] [--latency none|seed-scaled] [--data DIR] [--log]
// Prints one "key: value" line per endpoint fact, then serves until Ctrl+C or SIGTERM.
var port = 0;
var latency = LatencyProfile.None;
string? data = null;
var log = false;
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
        default:
            Console.Error.WriteLine($"unknown argument '{args[i]}'. usage: [--port N] [--latency none|seed-scaled] [--data DIR] [--log]");
            return 2;
    }
}
data ??= Path.Combine(Path.GetTempPath(), $"shellbox-arm-emulator-{Environment.ProcessId}");

await using var server = await ArmEmulatorServer.StartAsync(new ArmEmulatorOptions { Port = port, Latency = latency, DataDirectory = data });
if (log) server.Requests.Recorded += entry => Console.WriteLine(entry);
Console.WriteLine($"base-url: {server.BaseUri}");
Console.WriteLine($"cert-pem: {server.CertificatePemPath}");
Console.WriteLine($"subscription-id: {server.SubscriptionId}");
Console.WriteLine($"resource-group: {server.ResourceGroup}");
Console.WriteLine($"location: {server.Location}");
Console.WriteLine($"identity-endpoint: {server.ManagedIdentityEndpoint}");
Console.WriteLine($"identity-header: {server.ManagedIdentityHeader}");
Console.WriteLine($"data-directory: {data}");
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
