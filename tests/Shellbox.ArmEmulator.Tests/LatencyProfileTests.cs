using System.Diagnostics;
using Azure;
using Azure.ResourceManager.Compute;
using Xunit.Abstractions;

namespace Shellbox.ArmEmulator.Tests;

public sealed class LatencyProfileTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Seed_scaled_writes_take_a_few_hundred_ms_and_resource_graph_trails_by_1_2_s()
    {
        await using var session = await EmulatorSession.StartAsync(data => new ArmEmulatorOptions { DataDirectory = data, Latency = LatencyProfile.SeedScaled });
        var disks = session.ResourceGroup.GetManagedDisks();
        await session.ResourceGroup.GetAsync(); // token, TLS and JIT out of the way

        var sdk = Stopwatch.StartNew();
        await disks.CreateOrUpdateAsync(WaitUntil.Completed, "vol-sdk", ArmModels.EmptyDisk(session));
        sdk.Stop();

        // The operation's own latency, seen by a client that polls the resource every 25 ms.
        var own = Stopwatch.StartNew();
        await disks.CreateOrUpdateAsync(WaitUntil.Started, "vol-1", ArmModels.EmptyDisk(session));
        while ((await disks.GetAsync("vol-1")).Value.Data.ProvisioningState != "Succeeded") await Task.Delay(25);
        own.Stop();
        var graphLag = await TimeUntilGraphShowsAsync(session, "vol-1") + own.Elapsed;

        var get = Stopwatch.StartNew();
        await disks.GetAsync("vol-1");
        get.Stop();

        output.WriteLine($"disk create through the SDK (WaitUntil.Completed): {sdk.Elapsed.TotalMilliseconds:0} ms; " +
            $"operation latency seen by 25 ms polling: {own.Elapsed.TotalMilliseconds:0} ms; GET {get.Elapsed.TotalMilliseconds:0} ms; " +
            $"Resource Graph showed the new disk {graphLag.TotalMilliseconds:0} ms after the PUT");
        // The lower bounds are the latency profile: a loaded machine only adds to them. The upper bounds only say
        // that the operation ends; how fast a shared CI machine runs it is the benchmark's business, not this test's.
        var ends = TimeSpan.FromSeconds(15);
        Assert.InRange(own.Elapsed, TimeSpan.FromMilliseconds(300), ends);
        // Azure.Core polls ARM operations at most once a second after the first immediate poll.
        Assert.InRange(sdk.Elapsed, TimeSpan.FromMilliseconds(900), ends);
        Assert.InRange(graphLag, TimeSpan.FromMilliseconds(1200), ends);
        Assert.InRange(get.Elapsed, TimeSpan.FromMilliseconds(8), ends);
    }

    private static async Task<TimeSpan> TimeUntilGraphShowsAsync(EmulatorSession session, string name)
    {
        var waited = Stopwatch.StartNew();
        while (waited.Elapsed < TimeSpan.FromSeconds(5))
        {
            var (_, body, _) = await session.QueryGraphAsync($"Resources | where type =~ 'microsoft.compute/disks' | where name =~ '{name}' | project name");
            if (body!["count"]!.GetValue<int>() == 1) return waited.Elapsed;
            await Task.Delay(25);
        }
        throw new TimeoutException($"{name} never showed in Resource Graph");
    }
}
