using System.Diagnostics;
using Shellbox.Core.Model;
using Shellbox.Core.Ports;
using Shellbox.Core.Store;

namespace Shellbox.StoreBench;

/// <summary>
/// The store work of ConnectFlow's new-box claim, timed: the box point read (a miss), the ready-pair candidates
/// (index query + the volume's point read) and the one conditional commit that binds instance, volume and box.
/// </summary>
internal static class ClaimBench
{
    public const int Warmup = 20;

    private static readonly TimeSpan LeaseDuration = TimeSpan.FromMinutes(5);

    /// <summary>Times <paramref name="samples"/> claims after a warm-up; prints the median of each store call kind.</summary>
    public static async Task<IReadOnlyList<double>> RunAsync(IPoolStore inner, int samples)
    {
        var store = new TimedStore(inner);
        var timings = new List<double>(samples);
        var clock = new Stopwatch();
        for (var i = 0; i < Warmup + samples; i++)
        {
            clock.Restart();
            var claimed = await ClaimNewBoxAsync(store, "bench-user", $"box{i}");
            clock.Stop();
            if (claimed is null)
            {
                throw new InvalidOperationException($"No ready pair was left for claim {i}: the seed is too small.");
            }

            if (i >= Warmup)
            {
                timings.Add(clock.Elapsed.TotalMilliseconds);
            }
            else
            {
                store.Reset();
            }
        }

        Console.WriteLine($"           rows read per claim {(double)store.RowsRead / samples:0.#}; per call, median ms: "
            + string.Join("  ", store.Calls.Select(c => $"{c.Key} {c.Value.Order().ElementAt(c.Value.Count / 2):0.00} (x{(double)c.Value.Count / samples:0.#})")));
        return timings;
    }

    private static async Task<BoxRecord?> ClaimNewBoxAsync(IPoolStore store, string userId, string boxName)
    {
        var boxId = BoxRecord.IdFor(userId, boxName);
        if (await store.GetAsync<BoxRecord>(boxId) is not null)
        {
            throw new InvalidOperationException($"Box {boxId} exists already.");
        }

        return await PoolClaims.ClaimFirstAsync(
            store,
            ct => PoolCandidates.ReadyPairsAsync(store, ct),
            pair =>
            {
                var now = DateTimeOffset.UtcNow;
                var instance = pair.Instance with { Status = ResourceStatuses.Connected, Lease = new Lease(boxId, now + LeaseDuration, "bench"), LastUsed = now };
                var volume = pair.Volume with { Status = ResourceStatuses.Attached, UserId = userId, BoxName = boxName, LastUsed = now };
                var box = new BoxRecord { Id = boxId, UserId = userId, BoxName = boxName, VolumeId = volume.Id, InstanceId = instance.Id, Created = now, LastConnected = now };
                return new ClaimAttempt<BoxRecord>(
                    [pair.Instance, pair.Volume],
                    [StoreWrite.Replace(instance), StoreWrite.Replace(volume), StoreWrite.Insert(box)],
                    rows => rows.Of(box));
            });
    }
}
