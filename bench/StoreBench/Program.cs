using System.Diagnostics;
using System.Globalization;
using Azure.Data.Tables;
using Microsoft.Data.Sqlite;
using Shellbox.Azure.Store;
using Shellbox.Azure.Tests.Store;
using Shellbox.Core.Model;
using Shellbox.Core.Ports;
using Shellbox.Core.Store;
using Shellbox.Local.Store;
using Shellbox.StoreBench;

// StoreBench: p50/p95 of one connect claim of a new box (point read of the box, candidate query for ready
// pairs, point read of the pair's volume, one conditional commit of instance + volume + box) with few and
// many boxes of other users in the store, for SQLite and for Table Storage on a real Azurite.
//   --samples N      timed claims per case (default 200); 20 untimed claims warm up first
//   --boxes A,B      other users' boxes in the store (default 10,10000)
//   --stores S,...   sqlite, azurite (default both)
var options = BenchOptions.Parse(args);
if (options is null)
{
    return 2;
}

Console.WriteLine($"StoreBench: {options.Samples} claims per case, boxes {string.Join('/', options.Boxes)}, {Environment.ProcessorCount} cores");
var results = new List<(string Store, int Boxes, double P50, double P95)>();
AzuriteProcess? azurite = null;
try
{
    foreach (var storeName in options.Stores)
    {
        foreach (var boxes in options.Boxes)
        {
            var folder = Directory.CreateTempSubdirectory("shellbox-storebench-").FullName;
            try
            {
                IPoolStore store = storeName switch
                {
                    "sqlite" => SqlitePoolStore.Open(Path.Combine(folder, "state.db")),
                    _ => await TablePoolStore.OpenAsync(
                        new TableServiceClient((azurite ??= await AzuriteProcess.StartAsync()).ConnectionString),
                        $"bench{boxes}x{Guid.NewGuid():N}"[..30]),
                };
                var seed = Stopwatch.StartNew();
                var commitSize = store is TablePoolStore ? TablePoolStore.MaxWritesPerCommit : 1000;
                await Seed.OtherUsersAsync(store, boxes, commitSize);
                await Seed.ReadyPairsAsync(store, options.Samples + ClaimBench.Warmup, commitSize);
                Console.WriteLine($"{storeName,-8} {boxes,6} boxes: seeded {Seed.RowsFor(boxes, options.Samples + ClaimBench.Warmup)} rows in {seed.Elapsed.TotalSeconds:0.0} s");

                var samples = await ClaimBench.RunAsync(store, options.Samples);
                var (p50, p95) = (Percentile(samples, 0.50), Percentile(samples, 0.95));
                results.Add((storeName, boxes, p50, p95));
                Console.WriteLine($"{storeName,-8} {boxes,6} boxes: connect claim p50 {p50:0.00} ms  p95 {p95:0.00} ms  (n={samples.Count})");
            }
            finally
            {
                SqliteConnection.ClearAllPools();
                Directory.Delete(folder, recursive: true);
            }
        }
    }
}
finally
{
    if (azurite is not null)
    {
        await azurite.DisposeAsync();
    }
}

Console.WriteLine();
Console.WriteLine("store     boxes    p50 ms   p95 ms   p50 vs fewest boxes");
foreach (var group in results.GroupBy(r => r.Store))
{
    var baseline = group.First().P50;
    foreach (var r in group)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{r.Store,-8} {r.Boxes,6} {r.P50,9:0.00} {r.P95,8:0.00}   {r.P50 / baseline:0.00}x"));
    }
}

return 0;

static double Percentile(IReadOnlyList<double> samples, double q)
{
    var sorted = samples.Order().ToList();
    return sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Count) - 1, 0, sorted.Count - 1)];
}
