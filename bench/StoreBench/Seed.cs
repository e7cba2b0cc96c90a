using Shellbox.Core.Model;
using Shellbox.Core.Ports;

namespace Shellbox.StoreBench;

/// <summary>Rows the benchmark stores hold: other users' suspended boxes (what grows), and the warm pool.</summary>
internal static class Seed
{
    private static readonly DateTimeOffset Long = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static int RowsFor(int boxes, int pairs) => 2 * boxes + 2 * pairs;

    public static Task OtherUsersAsync(IPoolStore store, int boxes, int commitSize) =>
        InBatchesAsync(store, commitSize, Enumerable.Range(0, boxes).SelectMany(n =>
        {
            var (user, volume) = ($"user{n}", $"owned-v{n:D6}");
            return new StoreRecord[]
            {
                new VolumeRecord { Id = volume, Status = ResourceStatuses.Suspended, Created = Long, LastUsed = Long, Golden = "golden-snapshot-bench", UserId = user, BoxName = "dev" },
                new BoxRecord { Id = BoxRecord.IdFor(user, "dev"), UserId = user, BoxName = "dev", VolumeId = volume, Created = Long },
            };
        }));

    public static Task ReadyPairsAsync(IPoolStore store, int pairs, int commitSize) =>
        InBatchesAsync(store, commitSize, Enumerable.Range(0, pairs).SelectMany(n =>
        {
            var (instance, volume) = ($"ready-i{n:D5}", $"ready-v{n:D5}");
            var at = Long.AddMinutes(n);
            return new StoreRecord[]
            {
                new InstanceRecord { Id = instance, Status = ResourceStatuses.Free, Created = at, LastUsed = at, VolumeId = volume, BoxRunning = true, Endpoint = "127.0.0.1:2222" },
                new VolumeRecord { Id = volume, Status = ResourceStatuses.Free, Created = at, LastUsed = at, Golden = "golden-snapshot-bench", InstanceId = instance },
            };
        }));

    private static async Task InBatchesAsync(IPoolStore store, int commitSize, IEnumerable<StoreRecord> rows)
    {
        foreach (var batch in rows.Chunk(commitSize))
        {
            await store.CommitAsync(batch.Select(StoreWrite.Insert).ToList());
        }
    }
}
