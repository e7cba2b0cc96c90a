using Azure.Data.Tables;
using Shellbox.Azure.Store;
using Shellbox.Contracts;
using Shellbox.Core.Errors;
using Shellbox.Core.Model;
using Shellbox.Core.Ports;
using Shellbox.Core.Store;

namespace Shellbox.Azure.Tests.Store;

/// <summary>The store contract, and what only Table Storage can get wrong, against a real Azurite.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class TablePoolStoreTests(AzuriteFixture azurite) : PoolStoreContract
{
    protected override async Task<IPoolStore> CreateStoreAsync() =>
        await TablePoolStore.OpenAsync(new TableServiceClient(azurite.ConnectionString), AzuriteFixture.NewTableName());

    [Fact]
    public async Task A_wrong_key_fails_with_one_sentence_that_names_the_endpoint_and_never_the_key()
    {
        const string WrongKey = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmcta2V5LXdyb25nLWtleQ==";
        var connection = azurite.ConnectionString.Replace(AzuriteProcess.AccountKey, WrongKey, StringComparison.Ordinal);

        var e = await Assert.ThrowsAsync<ShellboxException>(() => TablePoolStore.OpenAsync(new TableServiceClient(connection), AzuriteFixture.NewTableName()));

        Assert.Equal("StoreAccessDenied", e.ErrorId);
        Assert.Contains($"127.0.0.1:{azurite.TableEndpoint.Port}", e.Message);
        Assert.Contains("403", e.Message);
        Assert.DoesNotContain(WrongKey, e.ToString());
        Assert.DoesNotContain("AccountKey", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public async Task A_table_service_that_does_not_answer_fails_with_one_sentence_naming_its_host()
    {
        var closed = new UriBuilder(azurite.TableEndpoint) { Port = FreePort() }.Uri;
        var options = new TableClientOptions { Retry = { MaxRetries = 0 } };
        var service = new TableServiceClient(closed, new TableSharedKeyCredential(AzuriteProcess.AccountName, AzuriteProcess.AccountKey), options);

        var e = await Assert.ThrowsAsync<ShellboxException>(() => TablePoolStore.OpenAsync(service, AzuriteFixture.NewTableName()));

        Assert.Equal(("StoreUnavailable", ShellboxErrorKind.Service), (e.ErrorId, e.Kind));
        Assert.Contains($"127.0.0.1:{closed.Port}", e.Message);
        Assert.DoesNotContain(AzuriteProcess.AccountKey, e.Message);
    }

    [Fact]
    public async Task A_commit_larger_than_one_transaction_is_refused_and_writes_nothing()
    {
        var store = await CreateStoreAsync();
        var writes = Enumerable.Range(0, TablePoolStore.MaxWritesPerCommit + 1).Select(i => StoreWrite.Insert(Instance($"i-{i}"))).ToList();

        await Assert.ThrowsAsync<ArgumentException>(() => store.CommitAsync(writes));

        Assert.Empty((await store.ReadSnapshotAsync()).Instances);
    }

    [Fact]
    public async Task Ids_with_characters_a_row_key_forbids_are_stored_and_kept_apart()
    {
        var store = await CreateStoreAsync();
        await store.CommitAsync([StoreWrite.Insert(Instance("a/b#c?d")), StoreWrite.Insert(Instance("a%2Fb#c?d")), StoreWrite.Insert(Instance("a\\b"))]);

        Assert.Equal("a/b#c?d", (await store.GetAsync<InstanceRecord>("a/b#c?d"))!.Id);
        Assert.Equal("a%2Fb#c?d", (await store.GetAsync<InstanceRecord>("a%2Fb#c?d"))!.Id);
        Assert.Equal(3, (await store.FindCandidatesAsync<InstanceRecord>(Candidates.BareFreeInstances)).Count);
    }

    [Fact]
    public async Task Every_pool_row_is_one_entity_in_one_partition_with_its_index_properties()
    {
        var name = AzuriteFixture.NewTableName();
        var service = new TableServiceClient(azurite.ConnectionString);
        var store = await TablePoolStore.OpenAsync(service, name);
        await store.CommitAsync(
        [
            StoreWrite.Insert(Instance("i-1")),
            StoreWrite.Insert(Volume("v-1") with { UserId = "u1", BoxName = "dev33", Status = ResourceStatuses.Suspended }),
            StoreWrite.Insert(new BoxRecord { Id = "u1.dev33", UserId = "u1", BoxName = "dev33", VolumeId = "v-1", Created = DateTimeOffset.UnixEpoch }),
        ]);

        var entities = await service.GetTableClient(name).QueryAsync<TableEntity>().ToListAsync();

        Assert.Equal(["box|u1.dev33", "instance|i-1", "volume|v-1"], entities.Select(e => e.RowKey).Order(StringComparer.Ordinal));
        Assert.All(entities, e => Assert.Equal("pool", e.PartitionKey));
        Assert.Equal("BareFreeInstances", entities.Single(e => e.RowKey == "instance|i-1").GetString("Candidate"));
        Assert.Null(entities.Single(e => e.RowKey == "volume|v-1").GetString("Candidate"));
    }

    private static int FreePort()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
