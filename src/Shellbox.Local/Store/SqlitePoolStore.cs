using Microsoft.Data.Sqlite;
using Shellbox.Core.Errors;
using Shellbox.Core.Model;
using Shellbox.Core.Observability;
using Shellbox.Core.Ports;
using Shellbox.Core.Store;

namespace Shellbox.Local.Store;

/// <summary>
/// The pool store in one SQLite file. Rows carry an integer version (the ETag); every commit runs in
/// one IMMEDIATE transaction, so writes from several processes (each ssh session runs its own pwsh)
/// serialize, and a writer that dies mid-commit leaves nothing behind (SQLite rolls back its journal).
/// Each row also keeps its candidate class and last use (<see cref="StoreIndex"/>) in indexed columns, so
/// a claim's candidate query reads a few rows whatever the number of boxes.
/// </summary>
public sealed class SqlitePoolStore : IPoolStore
{
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS rows (
            kind TEXT NOT NULL,
            id TEXT NOT NULL,
            version INTEGER NOT NULL,
            json TEXT NOT NULL,
            candidate TEXT,
            lastused INTEGER,
            PRIMARY KEY (kind, id));
        CREATE TABLE IF NOT EXISTS events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            json TEXT NOT NULL);
        """;

    private const string CandidateIndex = $"CREATE INDEX IF NOT EXISTS {SqliteStoreMigration.CandidateIndexName} ON rows (kind, candidate, lastused, id)";

    /// <summary>The claim's candidate query: it walks <see cref="CandidateIndex"/>, never the whole table.</summary>
    internal const string CandidateQuery = "SELECT version, json FROM rows WHERE kind = $kind AND candidate = $candidate ORDER BY lastused, id LIMIT $max";

    /// <summary>
    /// Events are read by kind and by resource (the planner's scale-downs and failures, Get-ShellboxEvent -Kind -Box):
    /// indexes on the JSON fields, so a query walks only the matching events, newest first.
    /// </summary>
    private const string EventIndexes = """
        CREATE INDEX IF NOT EXISTS events_by_kind ON events (json_extract(json, '$.kind'), seq);
        CREATE INDEX IF NOT EXISTS events_by_resource ON events (json_extract(json, '$.resourceId'), seq);
        """;

    private readonly string connectionString;
    private readonly object creating = new();
    private volatile bool created;

    private SqlitePoolStore(string connectionString) => this.connectionString = connectionString;

    public string DatabasePath { get; private init; } = "";

    /// <summary>Opens (creating if needed) the store at <paramref name="databasePath"/>.</summary>
    public static SqlitePoolStore Open(string databasePath)
    {
        var store = OpenOnFirstWrite(databasePath);
        store.EnsureCreated();
        return store;
    }

    /// <summary>
    /// The store at <paramref name="databasePath"/>, made (folder, file, tables) by its first write; until then
    /// every read finds an empty store. A command that only reads (-WhatIf, Get-ShellboxPool) leaves a state
    /// folder that was never used exactly as it found it.
    /// </summary>
    public static SqlitePoolStore OpenOnFirstWrite(string databasePath)
    {
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = databasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 30, // seconds Microsoft.Data.Sqlite retries SQLITE_BUSY before failing
        };
        return new SqlitePoolStore(builder.ToString()) { DatabasePath = Path.GetFullPath(databasePath) };
    }

    /// <summary>Makes the file and brings its schema up to date, once per store object.</summary>
    private void EnsureCreated()
    {
        if (created)
        {
            return;
        }

        lock (creating)
        {
            if (created)
            {
                return;
            }

            Directory.CreateDirectory(Path.GetDirectoryName(DatabasePath)!);
            try
            {
                using var connection = OpenConnection();
                Execute(connection, null, "PRAGMA journal_mode = WAL");
                SqliteStoreMigration.Run(connection, Schema, CandidateIndex);
                // Every ssh session opens the store: only a file without the event indexes takes the write lock for them.
                if (Execute(connection, null, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name IN ('events_by_kind', 'events_by_resource')") < 2)
                {
                    Execute(connection, null, EventIndexes);
                }
            }
            catch (SqliteException e)
            {
                throw ShellboxException.Service("StoreUnavailable", $"The pool store '{DatabasePath}' cannot be opened: {e.Message}", e);
            }

            created = true;
        }
    }

    /// <summary>False while no file exists (nothing was ever written): a read then finds an empty store and makes nothing.</summary>
    private bool Exists()
    {
        if (!created && !File.Exists(DatabasePath))
        {
            return false;
        }

        EnsureCreated();
        return true;
    }

    public async Task<PoolSnapshot> ReadSnapshotAsync(CancellationToken cancellationToken = default)
    {
        if (!Exists())
        {
            return new PoolSnapshot([], [], []);
        }

        await using var connection = OpenConnection();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT kind, id, version, json FROM rows";
        var rows = new List<StoreRecord>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(StoreRecordJson.Deserialize(reader.GetString(0), reader.GetString(3), reader.GetInt64(2).ToString()));
        }

        // One SELECT is one implicit read transaction: under WAL it sees a single committed state.
        return StoreRecordJson.ToSnapshot(rows);
    }

    public async Task<T?> GetAsync<T>(string id, CancellationToken cancellationToken = default)
        where T : StoreRecord
    {
        if (!Exists())
        {
            return null;
        }

        var kind = StoreRecordJson.KindOf<T>();
        await using var connection = OpenConnection();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT version, json FROM rows WHERE kind = $kind AND id = $id";
        command.Parameters.AddWithValue("$kind", kind);
        command.Parameters.AddWithValue("$id", id);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
            ? (T)StoreRecordJson.Deserialize(kind, reader.GetString(1), reader.GetInt64(0).ToString())
            : null;
    }

    public async Task<IReadOnlyList<T>> FindCandidatesAsync<T>(Candidates which, int max = ShellboxLimits.MaxQueryResults, CancellationToken cancellationToken = default)
        where T : StoreRecord
    {
        if (!Exists())
        {
            return [];
        }

        var kind = StoreIndex.KindOf<T>(which);
        await using var connection = OpenConnection();
        await using var command = connection.CreateCommand();
        command.CommandText = CandidateQuery;
        command.Parameters.AddWithValue("$kind", kind);
        command.Parameters.AddWithValue("$candidate", which.ToString());
        command.Parameters.AddWithValue("$max", Math.Max(max, 0));
        var rows = new List<T>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add((T)StoreRecordJson.Deserialize(kind, reader.GetString(1), reader.GetInt64(0).ToString()));
        }

        return rows;
    }

    public async Task<IReadOnlyList<BoxRecord>> ListBoxesAsync(string userId, CancellationToken cancellationToken = default)
    {
        if (!Exists())
        {
            return [];
        }

        var (from, to) = BoxRecord.IdRangeOf(userId);
        await using var connection = OpenConnection();
        await using var command = connection.CreateCommand();

        // A range on the primary key (kind, id): the index, never a scan of the other users' boxes.
        command.CommandText = "SELECT version, json FROM rows WHERE kind = 'box' AND id >= $from AND id < $to ORDER BY id";
        command.Parameters.AddWithValue("$from", from);
        command.Parameters.AddWithValue("$to", to);
        var boxes = new List<BoxRecord>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            boxes.Add((BoxRecord)StoreRecordJson.Deserialize("box", reader.GetString(1), reader.GetInt64(0).ToString()));
        }

        return boxes;
    }

    public Task<IReadOnlyList<StoreRecord>> CommitAsync(IReadOnlyList<StoreWrite> writes, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        EnsureCreated();
        using var connection = OpenConnection();

        // Serializable = BEGIN IMMEDIATE: take the write lock up front so two committers never interleave.
        using var transaction = connection.BeginTransaction(System.Data.IsolationLevel.Serializable);
        var written = new List<StoreRecord>(writes.Count);
        foreach (var write in writes)
        {
            written.Add(Apply(connection, transaction, write));
        }

        transaction.Commit();
        return Task.FromResult<IReadOnlyList<StoreRecord>>(written);
    }

    public async Task AppendEventAsync(PoolEvent poolEvent, CancellationToken cancellationToken = default)
    {
        EnsureCreated();
        await using var connection = OpenConnection();
        await using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO events (json) VALUES ($json)";
        command.Parameters.AddWithValue("$json", StoreRecordJson.SerializeEvent(poolEvent));
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<PoolEvent>> ReadEventsAsync(int max, CancellationToken cancellationToken = default)
    {
        if (!Exists())
        {
            return [];
        }

        await using var connection = OpenConnection();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT json FROM events ORDER BY seq DESC LIMIT $max";
        command.Parameters.AddWithValue("$max", max);
        var events = new List<PoolEvent>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            events.Add(StoreRecordJson.DeserializeEvent(reader.GetString(0)));
        }

        return events;
    }

    public async Task<IReadOnlyList<PoolEvent>> QueryEventsAsync(EventQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (!Exists())
        {
            return [];
        }

        await using var connection = OpenConnection();
        await using var command = connection.CreateCommand();
        var filters = new List<string>();
        void Filter(string field, string? value)
        {
            if (value is not null)
            {
                filters.Add($"json_extract(json, '$.{field}') = ${field}");
                command.Parameters.AddWithValue($"${field}", value);
            }
        }

        Filter("kind", query.Kind);
        Filter("role", query.Role);
        Filter("resourceId", query.ResourceId);
        var where = filters.Count == 0 ? "" : "WHERE " + string.Join(" AND ", filters);
        command.CommandText = $"SELECT json FROM events {where} ORDER BY seq DESC LIMIT $max";
        command.Parameters.AddWithValue("$max", Math.Max(0, query.Max));
        var events = new List<PoolEvent>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            events.Add(StoreRecordJson.DeserializeEvent(reader.GetString(0)));
        }

        return events;
    }

    public async Task<int> PruneEventsAsync(DateTimeOffset oldestKept, int keepNewest, CancellationToken cancellationToken = default)
    {
        if (!Exists())
        {
            return 0;
        }

        await using var connection = OpenConnection();
        await using var command = connection.CreateCommand();

        // julianday() reads the ISO time with its offset; the subquery is the seq of the newest event past the count.
        command.CommandText = """
            DELETE FROM events
            WHERE julianday(json_extract(json, '$.timestamp')) < julianday($oldest)
               OR seq <= (SELECT seq FROM events ORDER BY seq DESC LIMIT 1 OFFSET $keep)
            """;
        command.Parameters.AddWithValue("$oldest", oldestKept.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture));
        command.Parameters.AddWithValue("$keep", Math.Max(0, keepNewest));
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static StoreRecord Apply(SqliteConnection connection, SqliteTransaction transaction, StoreWrite write)
    {
        var record = write.Record;
        switch (write.Kind)
        {
            case StoreWriteKind.Insert:
                var exists = Execute(connection, transaction, "SELECT COUNT(*) FROM rows WHERE kind = $kind AND id = $id", record);
                if (exists != 0)
                {
                    throw new StoreConflictException(record.Key, "already exists");
                }

                Execute(connection, transaction, "INSERT INTO rows (kind, id, version, json, candidate, lastused) VALUES ($kind, $id, 1, $json, $candidate, $lastused)", record);
                return record with { ETag = "1" };

            case StoreWriteKind.Replace:
                var version = ExpectedVersion(record);
                if (Execute(connection, transaction, "UPDATE rows SET version = version + 1, json = $json, candidate = $candidate, lastused = $lastused WHERE kind = $kind AND id = $id AND version = $version", record, version) != 1)
                {
                    throw new StoreConflictException(record.Key, "is stale or gone");
                }

                return record with { ETag = (version + 1).ToString() };

            default:
                if (Execute(connection, transaction, "DELETE FROM rows WHERE kind = $kind AND id = $id AND version = $version", record, ExpectedVersion(record)) != 1)
                {
                    throw new StoreConflictException(record.Key, "is stale or gone");
                }

                return record;
        }
    }

    private static long ExpectedVersion(StoreRecord record) =>
        long.TryParse(record.ETag, out var version)
            ? version
            : throw new StoreConflictException(record.Key, "was never read from this store (no ETag)");

    /// <summary>Runs one statement; returns rows changed, or the scalar of a SELECT.</summary>
    private static long Execute(SqliteConnection connection, SqliteTransaction? transaction, string sql, StoreRecord? record = null, long version = 0)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        if (record is not null)
        {
            command.Parameters.AddWithValue("$kind", record.Kind);
            command.Parameters.AddWithValue("$id", record.Id);
            command.Parameters.AddWithValue("$json", StoreRecordJson.Serialize(record));
            command.Parameters.AddWithValue("$version", version);
            SqliteStoreMigration.BindIndex(command, record);
        }

        return sql.StartsWith("SELECT", StringComparison.Ordinal)
            ? Convert.ToInt64(command.ExecuteScalar() ?? 0L)
            : command.ExecuteNonQuery();
    }

    private SqliteConnection OpenConnection()
    {
        var connection = new SqliteConnection(connectionString);
        connection.Open();
        return connection;
    }
}
