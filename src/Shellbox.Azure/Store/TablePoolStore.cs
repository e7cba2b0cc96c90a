using Azure;
using Azure.Data.Tables;
using Shellbox.Core.Errors;
using Shellbox.Core.Model;
using Shellbox.Core.Observability;
using Shellbox.Core.Ports;
using Shellbox.Core.Store;

namespace Shellbox.Azure.Store;

/// <summary>
/// The pool store in Azure Table Storage. All pool rows (instances, volumes, boxes, locks) share one partition,
/// so every commit is one entity group transaction: all or nothing, each write conditional on the ETag the
/// row was read with. Candidate queries filter on the Candidate property that <see cref="StoreIndex"/> sets at
/// every write; the service cannot order by it, so the rows read are sorted here. Events live in a second
/// table, newest first by key.
/// </summary>
public sealed class TablePoolStore : IPoolStore
{
    /// <summary>The most writes one entity group transaction takes.</summary>
    public const int MaxWritesPerCommit = 100;

    private static readonly string[] RowColumns = [PoolEntities.Kind, PoolEntities.Json];
    private static readonly string[] JsonColumn = [PoolEntities.Json];
    private static readonly string[] KeyColumns = ["RowKey"];

    private readonly TableClient rows;
    private readonly TableClient events;
    private readonly Uri endpoint;

    private TablePoolStore(TableClient rows, TableClient events, Uri endpoint)
    {
        this.rows = rows;
        this.events = events;
        this.endpoint = endpoint;
    }

    /// <summary>
    /// Opens the store in table <paramref name="tableName"/> (events in "&lt;tableName&gt;events"), creating both
    /// tables if needed. <paramref name="service"/> carries the identity: a connection string (Azurite, shared
    /// key) or an endpoint with a TokenCredential.
    /// </summary>
    public static async Task<TablePoolStore> OpenAsync(TableServiceClient service, string tableName, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentException.ThrowIfNullOrEmpty(tableName);
        var store = new TablePoolStore(service.GetTableClient(tableName), service.GetTableClient($"{tableName}events"), service.Uri);
        await store.CallAsync($"creating table {tableName}", async () =>
        {
            await store.rows.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
            await store.events.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }).ConfigureAwait(false);
        return store;
    }

    public Task<PoolSnapshot> ReadSnapshotAsync(CancellationToken cancellationToken = default) =>
        CallAsync("reading the pool", async () =>
        {
            // Pages are not one consistent read as in SQLite; reconcile acts on ETags, so a row that moved is a conflict, not a mistake.
            var all = new List<StoreRecord>();
            var filter = TableClient.CreateQueryFilter($"PartitionKey eq {PoolEntities.Partition}");
            await foreach (var entity in rows.QueryAsync<TableEntity>(filter, select: RowColumns, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                all.Add(PoolEntities.ToRecord(entity));
            }

            return StoreRecordJson.ToSnapshot(all);
        });

    public Task<T?> GetAsync<T>(string id, CancellationToken cancellationToken = default)
        where T : StoreRecord
    {
        var kind = StoreRecordJson.KindOf<T>();
        return CallAsync($"reading {kind} {id}", async () =>
        {
            var found = await rows.GetEntityIfExistsAsync<TableEntity>(PoolEntities.Partition, PoolEntities.RowKey(kind, id), JsonColumn, cancellationToken).ConfigureAwait(false);
            return found.HasValue ? (T)PoolEntities.ToRecord(found.Value!, kind) : null;
        });
    }

    public Task<IReadOnlyList<BoxRecord>> ListBoxesAsync(string userId, CancellationToken cancellationToken = default) =>
        CallAsync<IReadOnlyList<BoxRecord>>("listing boxes", async () =>
        {
            // A RowKey range inside the one partition: the service reads only this user's rows.
            // The bound is compared, never stored: it keeps its '/' unescaped ('%2F' would sort before '.').
            var from = PoolEntities.RowKey("box", BoxRecord.IdRangeOf(userId).From);
            var to = from[..^1] + "/";
            var filter = TableClient.CreateQueryFilter($"PartitionKey eq {PoolEntities.Partition} and RowKey ge {from} and RowKey lt {to}");
            var boxes = new List<BoxRecord>();
            await foreach (var entity in rows.QueryAsync<TableEntity>(filter, select: JsonColumn, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                boxes.Add((BoxRecord)PoolEntities.ToRecord(entity, "box"));
            }

            return boxes;
        });

    public Task<IReadOnlyList<T>> FindCandidatesAsync<T>(Candidates which, int max = ShellboxLimits.MaxQueryResults, CancellationToken cancellationToken = default)
        where T : StoreRecord
    {
        var kind = StoreIndex.KindOf<T>(which);
        return CallAsync<IReadOnlyList<T>>($"finding {which}", async () =>
        {
            var found = new List<T>();
            if (max <= 0)
            {
                return found;
            }

            // Read up to max and stop: the service may answer in several (even empty) pages, never more rows than asked.
            var filter = TableClient.CreateQueryFilter($"PartitionKey eq {PoolEntities.Partition} and Candidate eq {which.ToString()}");
            await foreach (var page in rows.QueryAsync<TableEntity>(filter, max, JsonColumn, cancellationToken).AsPages(pageSizeHint: max).ConfigureAwait(false))
            {
                found.AddRange(page.Values.Take(max - found.Count).Select(e => (T)PoolEntities.ToRecord(e, kind)));
                if (found.Count >= max)
                {
                    break;
                }
            }

            return found.OrderBy(StoreIndex.LastUsedOf).ThenBy(r => r.Id, StringComparer.Ordinal).ToList();
        });
    }

    public async Task<IReadOnlyList<StoreRecord>> CommitAsync(IReadOnlyList<StoreWrite> writes, CancellationToken cancellationToken = default)
    {
        if (writes.Count == 0)
        {
            return [];
        }

        if (writes.Count > MaxWritesPerCommit)
        {
            throw new ArgumentException($"One commit to Table Storage takes at most {MaxWritesPerCommit} writes, not {writes.Count}.", nameof(writes));
        }

        var actions = writes.Select(ToAction).ToList();
        Response<IReadOnlyList<Response>> answer;
        try
        {
            answer = await CallAsync("committing pool rows", () => rows.SubmitTransactionAsync(actions, cancellationToken)).ConfigureAwait(false);
        }
        catch (ShellboxException e) when (e.InnerException is TableTransactionFailedException { Status: 404 or 409 or 412 } failed)
        {
            // The service names the action that failed; the whole transaction was rolled back.
            var index = failed.FailedTransactionActionIndex is { } i && i >= 0 && i < writes.Count ? i : 0;
            var write = writes[index];
            throw new StoreConflictException(write.Record.Key, write.Kind == StoreWriteKind.Insert ? "already exists" : "is stale or gone");
        }

        var written = new List<StoreRecord>(writes.Count);
        for (var i = 0; i < writes.Count; i++)
        {
            var record = writes[i].Record;
            written.Add(writes[i].Kind == StoreWriteKind.Delete
                ? record
                : record with { ETag = answer.Value[i].Headers.ETag?.ToString() ?? throw new InvalidDataException($"The pool table wrote {record.Key} without an ETag.") });
        }

        return written;
    }

    public Task AppendEventAsync(PoolEvent poolEvent, CancellationToken cancellationToken = default) =>
        CallAsync("appending an event", () => events.AddEntityAsync(PoolEntities.ToEntity(poolEvent), cancellationToken));

    public Task<IReadOnlyList<PoolEvent>> ReadEventsAsync(int max, CancellationToken cancellationToken = default) =>
        CallAsync<IReadOnlyList<PoolEvent>>("reading events", async () =>
        {
            var found = new List<PoolEvent>();
            if (max <= 0)
            {
                return found;
            }

            var filter = TableClient.CreateQueryFilter($"PartitionKey eq {PoolEntities.EventPartition}");
            await foreach (var page in events.QueryAsync<TableEntity>(filter, max, JsonColumn, cancellationToken).AsPages(pageSizeHint: max).ConfigureAwait(false))
            {
                found.AddRange(page.Values.Take(max - found.Count).Select(e => StoreRecordJson.DeserializeEvent(e.GetString(PoolEntities.Json))));
                if (found.Count >= max)
                {
                    break;
                }
            }

            return found;
        });

    public Task<IReadOnlyList<PoolEvent>> QueryEventsAsync(EventQuery query, CancellationToken cancellationToken = default) =>
        CallAsync<IReadOnlyList<PoolEvent>>("querying events", async () =>
        {
            ArgumentNullException.ThrowIfNull(query);
            var found = new List<PoolEvent>();
            if (query.Max <= 0)
            {
                return found;
            }

            // Filters run on the service; rows come back in RowKey order, which is newest first.
            var filter = TableClient.CreateQueryFilter($"PartitionKey eq {PoolEntities.EventPartition}");
            foreach (var (column, value) in new[] { (PoolEntities.EventKind, query.Kind), (PoolEntities.EventRole, query.Role), (PoolEntities.EventResource, query.ResourceId) })
            {
                if (value is not null)
                {
                    filter += $" and {column} eq {TableClient.CreateQueryFilter($"{value}")}";
                }
            }

            await foreach (var entity in events.QueryAsync<TableEntity>(filter, Math.Min(query.Max, 1000), JsonColumn, cancellationToken).ConfigureAwait(false))
            {
                found.Add(StoreRecordJson.DeserializeEvent(entity.GetString(PoolEntities.Json)));
                if (found.Count >= query.Max)
                {
                    break;
                }
            }

            return found;
        });

    public Task<int> PruneEventsAsync(DateTimeOffset oldestKept, int keepNewest, CancellationToken cancellationToken = default) =>
        CallAsync("pruning events", async () =>
        {
            // Keys only; newest first, so the count is a position and the age a key comparison.
            // "~" sorts after any suffix, so an event at exactly oldestKept is kept.
            var cutoff = PoolEntities.EventKeyOf(oldestKept) + "-~";
            var doomed = new List<string>();
            var position = 0;
            var filter = TableClient.CreateQueryFilter($"PartitionKey eq {PoolEntities.EventPartition}");
            await foreach (var entity in events.QueryAsync<TableEntity>(filter, 1000, KeyColumns, cancellationToken).ConfigureAwait(false))
            {
                if (position++ >= keepNewest || string.CompareOrdinal(entity.RowKey, cutoff) > 0)
                {
                    doomed.Add(entity.RowKey);
                }
            }

            // One partition: batches of up to 100 deletes, each all or nothing.
            foreach (var batch in doomed.Chunk(100))
            {
                await events.SubmitTransactionAsync(
                    batch.Select(key => new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(PoolEntities.EventPartition, key), ETag.All)),
                    cancellationToken).ConfigureAwait(false);
            }

            return doomed.Count;
        });

    private static TableTransactionAction ToAction(StoreWrite write) => write.Kind switch
    {
        StoreWriteKind.Insert => new TableTransactionAction(TableTransactionActionType.Add, PoolEntities.ToEntity(write.Record)),
        StoreWriteKind.Replace => new TableTransactionAction(TableTransactionActionType.UpdateReplace, PoolEntities.ToEntity(write.Record), ExpectedETag(write.Record)),
        _ => new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(PoolEntities.Partition, PoolEntities.RowKey(write.Record)), ExpectedETag(write.Record)),
    };

    private static ETag ExpectedETag(StoreRecord record) =>
        string.IsNullOrEmpty(record.ETag)
            ? throw new StoreConflictException(record.Key, "was never read from this store (no ETag)")
            : new ETag(record.ETag);

    private async Task<T> CallAsync<T>(string doing, Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception e) when (TableFailures.IsServiceFailure(e))
        {
            throw TableFailures.From(e, endpoint, doing);
        }
    }

    private Task CallAsync(string doing, Func<Task<Response>> call) => CallAsync<Response>(doing, call);
}
