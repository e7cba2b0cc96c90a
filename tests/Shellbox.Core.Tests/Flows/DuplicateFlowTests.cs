using Shellbox.Core.Boxes;
using Shellbox.Core.Errors;
using Shellbox.Core.Model;
using static Shellbox.Core.Tests.Flows.FlowFixture;

namespace Shellbox.Core.Tests.Flows;

/// <summary>
/// Duplicate over a runtime and infrastructure that cannot copy (the ports' defaults, as the Azure runtime for a
/// running box): one line, and every row as it was.
/// </summary>
public sealed class DuplicateFlowTests
{
    [Fact]
    public async Task GivenARunningBoxOnARuntimeThatCannotCopyIt_WhenDuplicated_ThenOneClearLineAndNothingIsLeftBehind()
    {
        await using var f = Create();
        await f.AddReadyPairAsync();
        var connection = await f.Connect.ConnectAsync(User, "dev");
        var before = await f.Store.ReadSnapshotAsync();

        var error = await Assert.ThrowsAsync<ShellboxException>(() => new DuplicateFlow(f.Engine).DuplicateAsync(User, "dev", "dev-copy"));

        Assert.Equal(("DuplicateRunning", "duplicate a running box: disconnect it first."), (error.ErrorId, error.Message));
        var after = await f.Store.ReadSnapshotAsync();
        Assert.Equal(before.Boxes.Select(b => (b.Id, b.ETag)), after.Boxes.Select(b => (b.Id, b.ETag)));
        Assert.Equal(before.Volumes.Select(v => v.Id), after.Volumes.Select(v => v.Id));
        Assert.Single((await f.BoxAsync("dev")).Sessions, s => s.Id == connection.SessionId);
    }

    [Fact]
    public async Task GivenASuspendedBoxOnAProviderThatCannotCopyVolumes_WhenDuplicated_ThenOneClearLineAndTheSourceIsFreeAgain()
    {
        await using var f = Create();
        await f.AddReadyPairAsync();
        var connection = await f.Connect.ConnectAsync(User, "dev");
        await f.Disconnect.DisconnectAsync(connection.Box.Id, connection.SessionId);

        var error = await Assert.ThrowsAsync<ShellboxException>(() => new DuplicateFlow(f.Engine).DuplicateAsync(User, "dev", "dev-copy"));

        Assert.Equal("DuplicateUnsupported", error.ErrorId);
        Assert.Null(await f.GetAsync<BoxRecord>(BoxId("dev-copy")));
        Assert.Null((await f.BoxAsync("dev")).Mark); // the source's mark is cleared: connects go on
        Assert.Single((await f.Store.ReadSnapshotAsync()).Volumes, v => v.UserId == User);
    }
}
