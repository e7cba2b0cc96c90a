using System.Diagnostics;
using System.Globalization;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Azure.ResourceManager;
using Azure.ResourceManager.Compute;
using Azure.ResourceManager.Compute.Models;
using Azure.ResourceManager.Resources;
using Shellbox.ArmEmulator;
using Shellbox.Azure;
using Shellbox.Azure.Arm;
using Shellbox.Azure.Identity;
using Shellbox.Azure.Runtime;
using Shellbox.Azure.Settings;
using Shellbox.Azure.Store;
using Shellbox.Azure.Tests.Store;
using Shellbox.AzureBench;
using Shellbox.Core.Boxes;
using Shellbox.Core.Engine;
using Shellbox.Core.Model;
using Shellbox.Core.Ports;
using Shellbox.Core.Settings;

// Seed 003's connect flow (a) against Shellbox's (b), on one loopback ARM emulator whose latencies are the seed's
// figures divided by 100 (VM and disk writes 0.3-0.6 s, Resource Graph lag up to 1.2 s). Times are to the moment
// the box's resume is asked for ("time before QEMU starts", seed 003); resume itself is the Local benchmark's.
// The SDK polls a long operation every second; scaled down 100 times like every other figure here, for both flows.
var pollInterval = TimeSpan.FromMilliseconds(10);
var cycles = args.Length == 2 && args[0] == "--cycles" ? int.Parse(args[1], CultureInfo.InvariantCulture) : 10;
var folder = Directory.CreateTempSubdirectory("shellbox-azure-bench-").FullName;
try
{
    await using var emulator = await ArmEmulatorServer.StartAsync(new ArmEmulatorOptions { DataDirectory = Path.Combine(folder, "arm"), Latency = LatencyProfile.SeedScaled });
    Environment.SetEnvironmentVariable("IDENTITY_ENDPOINT", emulator.ManagedIdentityEndpoint.ToString());
    Environment.SetEnvironmentVariable("IDENTITY_HEADER", emulator.ManagedIdentityHeader);
    await using var azurite = await AzuriteProcess.StartAsync();

    var azure = new AzureProviderSettings
    {
        SubscriptionId = emulator.SubscriptionId,
        ResourceGroup = emulator.ResourceGroup,
        Location = emulator.Location,
        SubnetId = $"/subscriptions/{emulator.SubscriptionId}/resourceGroups/{emulator.ResourceGroup}/providers/Microsoft.Network/virtualNetworks/vnet/subnets/boxes",
        ArmEndpoint = emulator.BaseUri.ToString().TrimEnd('/'),
        Credential = AzureCredentials.ManagedIdentity,
    };
    var certificate = emulator.Certificate;
    var transport = new HttpClientTransport(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, presented, _, _) => presented?.Thumbprint == certificate.Thumbprint });
    var credential = AzureCredentials.Create(azure);
    var infrastructure = new AzureInfrastructure(azure, credential, new NoAgent(), ControlPublicKey(folder), new AzureProviderOptions { Transport = transport, OperationPollInterval = pollInterval });
    var store = await TablePoolStore.OpenAsync(new TableServiceClient(azurite.ConnectionString), "benchpool");
    var probe = new ResumeProbe();
    var settings = new ShellboxSettings { Provider = ShellboxSettings.AzureProvider, StateDirectory = folder, Pool = PoolConfig.Dev };
    var engine = new ShellboxEngine(settings, store, infrastructure, probe, TimeProvider.System, new RandomIdGenerator());

    var arm = new ArmClient(credential.Credential, azure.SubscriptionId, new ArmClientOptions { Environment = new ArmEnvironment(emulator.BaseUri, "https://management.azure.com/"), Transport = transport });
    var group = arm.GetResourceGroupResource(ResourceGroupResource.CreateResourceIdentifier(azure.SubscriptionId, azure.ResourceGroup));
    var golden = await MakeGoldenAsync(group);
    var seed = new SeedConnectFlow(group, infrastructure.Queries, pollInterval);

    Console.WriteLine($"Azure connect: seed 003's flow against Shellbox's, {cycles} cycles, emulator latency = seed figures / 100");
    var runs = new Dictionary<string, List<(double Ms, int Writes, int Calls)>> { ["seed"] = [], ["new"] = [], ["returning"] = [] };
    for (var i = 0; i < cycles; i++)
    {
        var (instance, volume) = await MakeReadyPairAsync(i);
        var box = $"bench{i}";

        // (b) a new box from the ready pair, then a returning box after a disconnect.
        var connection = await MeasureAsync("new", () => new ConnectFlow(engine).ConnectAsync("bench", box));
        await new DisconnectFlow(engine).DisconnectAsync(connection.Box.Id, connection.SessionId);

        // What the next reconcile pass does for a box made from a ready pair (no attach carried its owner):
        // mirror the owner onto the volume's tags, off any connect's path.
        await infrastructure.TagVolumeAsync(volume, new Dictionary<string, string> { [TagKeys.UserId] = "bench", [TagKeys.BoxName] = box });
        connection = await MeasureAsync("returning", () => new ConnectFlow(engine).ConnectAsync("bench", box));
        await new DisconnectFlow(engine).DisconnectAsync(connection.Box.Id, connection.SessionId);

        // (a) the seed's flow for the same box on a fresh instance; then detach (not measured).
        var seedInstance = $"instance-s{i:000}";
        await CreateInstanceAsync(seedInstance);
        await MeasureAsync("seed", async () => { await seed.ConnectAsync(seedInstance, volume, "bench", box, CancellationToken.None); return 0; });
        await infrastructure.DetachAsync(seedInstance, volume);
    }

    Console.WriteLine();
    Console.WriteLine("ARM calls count every request on the path: reads, Resource Graph queries and operation polls (every 10 ms) too.");
    Console.WriteLine($"{"flow",-34} {"p50 ms",8} {"p95 ms",8} {"ARM writes",11} {"ARM calls",10}");
    Print("(a) seed 003 (returning or new box)", runs["seed"]);
    Print("(b) Shellbox, new box (ready pair)", runs["new"]);
    Print("(b) Shellbox, returning box", runs["returning"]);
    var seedP50 = P(runs["seed"], 50);
    Console.WriteLine();
    Console.WriteLine($"returning box: {P(runs["returning"], 50) / seedP50:0.0000} of the seed's time (goal <= 1/10 = 0.1)");
    Console.WriteLine($"new box:       {P(runs["new"], 50) / seedP50:0.0000} of the seed's time (goal <= 1/100 = 0.01)");

    async Task<T> MeasureAsync<T>(string flow, Func<Task<T>> connect)
    {
        var mark = emulator.Requests.Mark();
        var watch = Stopwatch.StartNew();
        var result = await connect();
        var ms = watch.Elapsed.TotalMilliseconds;
        var requests = emulator.Requests.Since(mark);
        runs[flow].Add((ms, requests.Count(r => r.IsWrite), requests.Count));
        if (Environment.GetEnvironmentVariable("SHELLBOX_BENCH_TRACE") is not null)
        {
            Console.WriteLine($"-- {flow}: {ms:0} ms");
            foreach (var r in requests)
            {
                Console.WriteLine($"   {r}");
            }
        }
        return result;
    }

    async Task<InstanceInfo> CreateInstanceAsync(string id)
    {
        var now = DateTimeOffset.UtcNow;
        return await infrastructure.CreateInstanceAsync(id, ResourceTags.For(new InstanceRecord { Id = id, Status = ResourceStatuses.Free, Created = now, LastUsed = now }));
    }

    // What reconcile's pairing leaves: a free instance with a free volume attached and its box running.
    async Task<(string, string)> MakeReadyPairAsync(int i)
    {
        var now = DateTimeOffset.UtcNow;
        var instance = new InstanceRecord { Id = $"instance-b{i:000}", Status = ResourceStatuses.Free, Created = now, LastUsed = now };
        var volume = new VolumeRecord { Id = $"volume-b{i:000}", Status = ResourceStatuses.Free, Created = now, LastUsed = now, Golden = golden.Version };
        var info = await CreateInstanceAsync(instance.Id);
        await infrastructure.CreateVolumeAsync(volume.Id, golden, ResourceTags.For(volume));
        await infrastructure.AttachAsync(instance.Id, volume.Id, ResourceTags.For(instance));
        await store.CommitAsync(
        [
            StoreWrite.Insert(instance with { Endpoint = info.Endpoint, HostKey = info.HostKey, VolumeId = volume.Id, BoxRunning = true }),
            StoreWrite.Insert(volume with { InstanceId = instance.Id }),
        ]);
        await probe.ResumeAsync(instance.Id, volume.Id);
        return (instance.Id, volume.Id);
    }
}
finally
{
    Directory.Delete(folder, recursive: true);
}

static async Task<GoldenSnapshotInfo> MakeGoldenAsync(ResourceGroupResource group)
{
    // The golden build (a VM that builds and suspends a box) is measured elsewhere: here only its snapshot matters.
    var location = new AzureLocation("westeurope");
    var source = (await group.GetManagedDisks().CreateOrUpdateAsync(WaitUntil.Completed, "golden-source", new ManagedDiskData(location) { CreationData = new DiskCreationData(DiskCreateOption.Empty), DiskSizeGB = 32 })).Value;
    var name = $"{ShellboxLimits.GoldenSnapshotPrefix}-bench";
    var snapshot = (await group.GetSnapshots().CreateOrUpdateAsync(WaitUntil.Completed, name, new SnapshotData(location) { CreationData = new DiskCreationData(DiskCreateOption.Copy) { SourceResourceId = source.Id }, Incremental = true })).Value;
    return new GoldenSnapshotInfo(name, snapshot.Id.ToString(), DateTimeOffset.UtcNow);
}

static string ControlPublicKey(string folder)
{
    var key = Path.Combine(folder, "control");
    Process.Start("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key])!.WaitForExit();
    return File.ReadAllText(key + ".pub");
}

static double P(List<(double Ms, int Writes, int Calls)> runs, int percentile)
{
    var sorted = runs.Select(r => r.Ms).Order().ToList();
    return sorted[Math.Clamp((int)Math.Ceiling(percentile / 100.0 * sorted.Count) - 1, 0, sorted.Count - 1)];
}

static void Print(string name, List<(double Ms, int Writes, int Calls)> runs) =>
    Console.WriteLine($"{name,-34} {P(runs, 50),8:0} {P(runs, 95),8:0} {runs.Max(r => r.Writes),11} {runs.Max(r => r.Calls),10}");

/// <summary>No agent: nothing in this benchmark builds a golden or resumes a box on an instance.</summary>
internal sealed class NoAgent : IInstanceAgent
{
    public Task<AgentResult> RunAsync(InstanceAddress instance, IReadOnlyList<string> arguments, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        throw new InvalidOperationException("The Azure benchmark runs no agent.");
}
