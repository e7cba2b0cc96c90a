using Microsoft.Data.Sqlite;
using Shellbox.Core.Model;
using Shellbox.Core.Store;

namespace Shellbox.Local.Store;

/// <summary>
/// Brings a state.db of any earlier version up to the current schema when a store opens it. Runs in one
/// IMMEDIATE transaction, so two processes opening an old file at once migrate it once, and a crash
/// mid-way leaves the old schema intact.
/// </summary>
internal static class SqliteStoreMigration
{
    public const string CandidateIndexName = "rows_by_candidate";

    public static void Run(SqliteConnection connection, string schema, string candidateIndex)
    {
        // Every process opens the store; only a file that needs work takes the write lock.
        if (HasColumn(connection, null, "rows", "candidate") && HasIndex(connection, CandidateIndexName))
        {
            return;
        }

        using var transaction = connection.BeginTransaction(System.Data.IsolationLevel.Serializable);
        Execute(connection, transaction, schema);
        if (!HasColumn(connection, transaction, "rows", "candidate"))
        {
            // Files written before the candidate index: add its columns, then classify every existing row once.
            Execute(connection, transaction, "ALTER TABLE rows ADD COLUMN candidate TEXT");
            Execute(connection, transaction, "ALTER TABLE rows ADD COLUMN lastused INTEGER");
            Backfill(connection, transaction);
        }

        Execute(connection, transaction, candidateIndex);
        transaction.Commit();
    }

    /// <summary>Binds the index columns of <paramref name="record"/>, the same way for every write and the backfill.</summary>
    public static void BindIndex(SqliteCommand command, StoreRecord record)
    {
        command.Parameters.AddWithValue("$candidate", (object?)StoreIndex.CandidateOf(record)?.ToString() ?? DBNull.Value);
        command.Parameters.AddWithValue("$lastused", (object?)StoreIndex.LastUsedOf(record)?.UtcTicks ?? DBNull.Value);
    }

    private static void Backfill(SqliteConnection connection, SqliteTransaction transaction)
    {
        var rows = new List<StoreRecord>();
        using (var read = connection.CreateCommand())
        {
            read.Transaction = transaction;
            read.CommandText = "SELECT kind, json FROM rows";
            using var reader = read.ExecuteReader();
            while (reader.Read())
            {
                rows.Add(StoreRecordJson.Deserialize(reader.GetString(0), reader.GetString(1), etag: ""));
            }
        }

        foreach (var row in rows)
        {
            using var update = connection.CreateCommand();
            update.Transaction = transaction;
            update.CommandText = "UPDATE rows SET candidate = $candidate, lastused = $lastused WHERE kind = $kind AND id = $id";
            update.Parameters.AddWithValue("$kind", row.Kind);
            update.Parameters.AddWithValue("$id", row.Id);
            BindIndex(update, row);
            update.ExecuteNonQuery();
        }
    }

    private static bool HasIndex(SqliteConnection connection, string index)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = $index";
        command.Parameters.AddWithValue("$index", index);
        return Convert.ToInt64(command.ExecuteScalar()) > 0;
    }

    private static bool HasColumn(SqliteConnection connection, SqliteTransaction? transaction, string table, string column)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"SELECT COUNT(*) FROM pragma_table_info('{table}') WHERE name = $column";
        command.Parameters.AddWithValue("$column", column);
        return Convert.ToInt64(command.ExecuteScalar()) > 0;
    }

    private static void Execute(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
