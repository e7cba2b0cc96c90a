namespace Shellbox.Azure.Tests.Store;

/// <summary>
/// One real Azurite table service for a test collection: started before the first test of the collection,
/// stopped after the last. Tests take a fresh table each (<see cref="NewTableName"/>), so they never share rows.
/// </summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    private AzuriteProcess? azurite;

    /// <summary>Shared-key connection string of Azurite's development account (a public constant).</summary>
    public string ConnectionString => Running.ConnectionString;

    /// <summary>http://127.0.0.1:&lt;port&gt;/devstoreaccount1</summary>
    public Uri TableEndpoint => Running.TableEndpoint;

    private AzuriteProcess Running => azurite ?? throw new InvalidOperationException("Azurite is not running.");

    /// <summary>A table name no other test uses (letters and digits, starting with a letter).</summary>
    public static string NewTableName(string prefix = "t") => $"{prefix}{Guid.NewGuid():N}"[..Math.Min(40, prefix.Length + 32)];

    public async Task InitializeAsync() => azurite = await AzuriteProcess.StartAsync();

    public async Task DisposeAsync()
    {
        if (azurite is not null)
        {
            await azurite.DisposeAsync();
        }
    }
}

/// <summary>Tests that share one Azurite: <c>[Collection(AzuriteCollection.Name)]</c>.</summary>
[CollectionDefinition(Name)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "Azurite";
}
