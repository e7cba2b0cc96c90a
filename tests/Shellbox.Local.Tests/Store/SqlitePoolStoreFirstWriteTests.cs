using Microsoft.Data.Sqlite;
using Shellbox.Core.Model;
using Shellbox.Core.Store;
using Shellbox.Local.Store;

namespace Shellbox.Local.Tests.Store;

/// <summary>The Local provider's store is made by its first write: reads of a state folder never used create nothing.</summary>
public sealed class SqlitePoolStoreFirstWriteTests : IDisposable
{
    private readonly TempFolder folder = new("shellbox-sqlite-lazy");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        folder.Dispose();
    }

    [Fact]
    public async Task Reads_find_an_empty_store_and_make_no_file_until_the_first_write_which_a_store_opened_earlier_then_sees()
    {
        // GIVEN two store objects on a state folder that does not exist yet (two processes, as two ssh sessions)
        var path = folder.Combine("state", "state.db");
        var reader = SqlitePoolStore.OpenOnFirstWrite(path);
        var writer = SqlitePoolStore.OpenOnFirstWrite(path);

        var before = await reader.ReadSnapshotAsync();
        Assert.Empty(before.Instances);
        Assert.Null(await reader.GetAsync<InstanceRecord>("i-1"));
        Assert.Empty(await reader.FindCandidatesAsync<InstanceRecord>(Candidates.BareFreeInstances));
        Assert.Empty(await reader.ReadEventsAsync(10));
        Assert.Equal(0, await reader.PruneEventsAsync(DateTimeOffset.UtcNow, 0));
        Assert.False(Directory.Exists(folder.Combine("state")), "a read made the state folder");

        // WHEN one writes a row
        var now = DateTimeOffset.UtcNow;
        await writer.InsertAsync(new InstanceRecord { Id = "i-1", Status = ResourceStatuses.Free, Created = now, LastUsed = now });

        // THEN the file exists and the other, opened before it did, reads the row
        Assert.True(File.Exists(path));
        Assert.Equal("i-1", (await reader.GetAsync<InstanceRecord>("i-1"))?.Id);
        Assert.Single((await reader.ReadSnapshotAsync()).Instances);
    }
}
