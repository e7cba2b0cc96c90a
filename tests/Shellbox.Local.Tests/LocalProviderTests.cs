using Shellbox.Local.Infrastructure;
using Shellbox.Local.Runtime;
using Shellbox.Local.Store;

namespace Shellbox.Local.Tests;

public sealed class LocalProviderTests : IDisposable
{
    private readonly TempFolder folder = new("shellbox-provider");

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        folder.Dispose();
    }

    [Fact]
    public async Task The_engine_runs_on_sqlite_in_the_state_folder_with_local_infrastructure_and_qemu_boxes()
    {
        var settings = GoldenFixture.Settings(folder.Combine("state"), 2, 40000);
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();

        await using var engine = LocalProvider.CreateEngine(settings, time);

        Assert.Equal(folder.Combine("state", "state.db"), Assert.IsType<SqlitePoolStore>(engine.Store).DatabasePath);
        Assert.IsType<LocalInfrastructure>(engine.Infrastructure);
        Assert.IsType<QemuBoxRuntime>(engine.Runtime);
        Assert.Same(time, engine.Time);
        Assert.Same(settings, engine.Settings);
        Assert.Empty((await engine.Store.ReadSnapshotAsync()).Instances);
    }
}
