using Shellbox.Core.Model;
using Shellbox.Core.Ports;
using Shellbox.Core.Tests.Flows;

namespace Shellbox.Core.Tests.Store;

/// <summary>
/// A connect reads a bounded number of rows whatever the number of boxes (ARCHITECTURE.md): the same rows with
/// 10 boxes and with 10,000 in the store, and never a whole snapshot.
/// </summary>
public sealed class ConnectReadCostTests
{
    [Fact]
    public async Task A_connect_reads_the_same_rows_with_10_boxes_and_with_10000()
    {
        var small = await RowsReadPerConnectAsync(otherBoxes: 10);
        var large = await RowsReadPerConnectAsync(otherBoxes: 10_000);

        Assert.Equal(small, large);
        Assert.Equal(0, large.Snapshots);
        Assert.InRange(large.NewBox, 1, 2 * ShellboxLimits.MaxQueryResults);
        Assert.InRange(large.ReturningBox, 1, 2 * ShellboxLimits.MaxQueryResults);
    }

    [Fact]
    public async Task Listing_and_getting_a_users_boxes_reads_only_that_user_with_10_boxes_and_with_10000()
    {
        var small = await RowsReadPerListAsync(otherBoxes: 10);
        var large = await RowsReadPerListAsync(otherBoxes: 10_000);

        Assert.Equal(small, large);
        Assert.Equal((2, 1, 0), large);
    }

    private static async Task<(int List, int Get, int Snapshots)> RowsReadPerListAsync(int otherBoxes)
    {
        await using var f = FlowFixture.Create();
        await SeedOtherUsersAsync(f.Sqlite, otherBoxes);
        await f.AddVolumeAsync();
        await f.AddVolumeAsync();
        await f.Catalog.CreateAsync(FlowFixture.User, "dev33");
        await f.Catalog.CreateAsync(FlowFixture.User, "web");

        f.Counting.Reset();
        var boxes = await f.Catalog.ListAsync(FlowFixture.User);
        var list = f.Counting.RowsRead;
        Assert.Equal(["dev33", "web"], boxes.Select(b => b.Box.BoxName));

        f.Counting.Reset();
        Assert.Equal("web", (await f.Catalog.GetAsync(FlowFixture.User, "web")).Box.BoxName);
        return (list, f.Counting.RowsRead, f.Counting.Snapshots);
    }

    private static async Task<(int NewBox, int ReturningBox, int Snapshots)> RowsReadPerConnectAsync(int otherBoxes)
    {
        await using var f = FlowFixture.Create();
        await SeedOtherUsersAsync(f.Sqlite, otherBoxes);
        for (var i = 0; i < 3; i++)
        {
            await f.AddReadyPairAsync();
            await f.AddInstanceAsync();
            await f.AddVolumeAsync();
        }

        // GIVEN a new box: WHEN it connects THEN it is bound from a ready pair
        f.Counting.Reset();
        var first = await f.Connect.ConnectAsync(FlowFixture.User, "dev33");
        var newBox = f.Counting.RowsRead;
        var snapshots = f.Counting.Snapshots;
        Assert.Equal("new-from-ready-pair", first.Trace.Path);
        await f.Disconnect.DisconnectAsync(first.Box.Id, first.SessionId);

        // GIVEN the box suspended: WHEN it connects again THEN it is attached to a free instance
        f.Counting.Reset();
        var again = await f.Connect.ConnectAsync(FlowFixture.User, "dev33");
        Assert.Equal("returning", again.Trace.Path);
        return (newBox, f.Counting.RowsRead, snapshots + f.Counting.Snapshots);
    }

    /// <summary>Boxes of other users, each suspended on its own volume: rows a connect must never scan.</summary>
    private static async Task SeedOtherUsersAsync(IPoolStore store, int count)
    {
        var at = FlowFixture.Start.AddDays(-30);
        foreach (var batch in Enumerable.Range(0, count).Chunk(500))
        {
            var writes = new List<StoreWrite>();
            foreach (var n in batch)
            {
                var (user, volume) = ($"user{n}", $"owned-v{n}");
                writes.Add(StoreWrite.Insert(new VolumeRecord { Id = volume, Status = ResourceStatuses.Suspended, Created = at, LastUsed = at, Golden = FlowFixture.Golden.Version, UserId = user, BoxName = "dev" }));
                writes.Add(StoreWrite.Insert(new BoxRecord { Id = BoxRecord.IdFor(user, "dev"), UserId = user, BoxName = "dev", VolumeId = volume, Created = at }));
            }

            await store.CommitAsync(writes);
        }
    }
}
