using Microsoft.Data.Sqlite;
using Shellbox.Contracts;
using Shellbox.Core.Model;
using Shellbox.Core.Ports;
using Shellbox.Core.Store;
using Shellbox.Local.Store;

namespace Shellbox.Local.Tests.Store;

public sealed class SqlitePoolStoreTests : PoolStoreContract, IDisposable
{
    private readonly TempFolder folder = new("shellbox-sqlite");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        folder.Dispose();
    }

    protected override Task<IPoolStore> CreateStoreAsync() =>
        Task.FromResult<IPoolStore>(SqlitePoolStore.Open(folder.Combine($"{Guid.NewGuid():N}.db")));

    [Fact]
    public async Task A_writer_that_dies_inside_its_transaction_leaves_no_half_written_row()
    {
        var path = folder.Combine("crash.db");
        var store = SqlitePoolStore.Open(path);
        await store.InsertAsync(Instance("i-1"));

        // GIVEN a writer that has written one row of two and then vanishes without committing
        using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            connection.Open();
            var transaction = connection.BeginTransaction();
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "UPDATE rows SET json = 'garbage', version = version + 1 WHERE id = 'i-1'";
            command.ExecuteNonQuery();
            // no Commit: the connection is closed with the transaction open, as a killed process would leave it
        }

        // THEN the row is exactly as before and another writer can still commit
        var row = await store.GetAsync<InstanceRecord>("i-1");
        Assert.Equal(ResourceStatuses.Free, row!.Status);
        await store.ReplaceAsync(row with { Status = ResourceStatuses.Connected });
    }

    [Fact]
    public async Task Two_store_objects_on_one_file_see_each_others_writes_and_conflicts()
    {
        var path = folder.Combine("shared.db");
        var a = SqlitePoolStore.Open(path);
        var b = SqlitePoolStore.Open(path);
        var fromA = await a.InsertAsync(Instance("i-1"));
        var fromB = await b.GetAsync<InstanceRecord>("i-1");
        await b.ReplaceAsync(fromB! with { Status = ResourceStatuses.Connected });
        await Assert.ThrowsAsync<Shellbox.Core.Errors.StoreConflictException>(() => a.ReplaceAsync(fromA with { Status = ResourceStatuses.Deleting }));
    }

    [Fact]
    public async Task A_state_file_from_before_the_candidate_index_is_migrated_on_open_and_keeps_its_etags()
    {
        // GIVEN a state.db written by the previous schema (no candidate columns), with a free instance at version 3
        var path = folder.Combine("old.db");
        using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = """
                CREATE TABLE rows (kind TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL, json TEXT NOT NULL, PRIMARY KEY (kind, id));
                CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, json TEXT NOT NULL);
                INSERT INTO rows VALUES ('instance', 'i-free', 3, $free), ('instance', 'i-busy', 1, $busy), ('volume', 'v-free', 1, $volume);
                """;
            command.Parameters.AddWithValue("$free", StoreRecordJson.Serialize(Instance("i-free")));
            command.Parameters.AddWithValue("$busy", StoreRecordJson.Serialize(Instance("i-busy", ResourceStatuses.Connected)));
            command.Parameters.AddWithValue("$volume", StoreRecordJson.Serialize(Volume("v-free")));
            command.ExecuteNonQuery();
        }

        // WHEN the engine opens it (twice, as two processes would)
        var store = SqlitePoolStore.Open(path);
        SqlitePoolStore.Open(path);

        // THEN connects find its free rows, and a row read before the upgrade can still be written with its ETag
        var free = Assert.Single(await store.FindCandidatesAsync<InstanceRecord>(Candidates.BareFreeInstances));
        Assert.Equal(("i-free", "3"), (free.Id, free.ETag));
        Assert.Equal("v-free", Assert.Single(await store.FindCandidatesAsync<VolumeRecord>(Candidates.LooseFreeVolumes)).Id);
        await store.ReplaceAsync(free with { Status = ResourceStatuses.Connected });
        Assert.Empty(await store.FindCandidatesAsync<InstanceRecord>(Candidates.BareFreeInstances));
    }

    [Fact]
    public async Task The_candidate_query_walks_the_index_instead_of_scanning_every_row()
    {
        var path = folder.Combine("plan.db");
        var store = SqlitePoolStore.Open(path);
        await store.InsertAsync(Instance("i-1"));

        // The statement FindCandidatesAsync runs, explained: a scan would grow with every box ever created.
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"EXPLAIN QUERY PLAN {SqlitePoolStore.CandidateQuery}";
        command.Parameters.AddWithValue("$kind", "instance");
        command.Parameters.AddWithValue("$candidate", nameof(Candidates.BareFreeInstances));
        command.Parameters.AddWithValue("$max", 10);
        var plan = new List<string>();
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                plan.Add(reader.GetString(3));
            }
        }

        Assert.Contains(plan, step => step.Contains("USING INDEX rows_by_candidate", StringComparison.Ordinal));
        Assert.DoesNotContain(plan, step => step.Contains("TEMP B-TREE", StringComparison.Ordinal));
        Assert.Single(await store.FindCandidatesAsync<InstanceRecord>(Candidates.BareFreeInstances));
    }
}
