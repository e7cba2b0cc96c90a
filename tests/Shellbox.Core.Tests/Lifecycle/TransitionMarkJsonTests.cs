using Shellbox.Core.Lifecycle;
using Shellbox.Core.Model;
using Shellbox.Core.Store;

namespace Shellbox.Core.Tests.Lifecycle;

/// <summary>Marks in the one stored form of rows (SQLite and Table Storage): new rows keep them, older rows still read.</summary>
public sealed class TransitionMarkJsonTests
{
    private static readonly DateTimeOffset At = new(2030, 1, 1, 8, 0, 0, TimeSpan.Zero);

    [Fact]
    public void GivenABoxMarkedByARemoval_WhenStoredAndReadBack_ThenTheActOwnerAndExpiryAreKeptByName()
    {
        var box = new BoxRecord { Id = "ada.dev", UserId = "ada", BoxName = "dev", VolumeId = "v1", Created = At, Mark = new TransitionMark(TransitionAct.Remove, "c0ffee", At.AddMinutes(5)) };

        var json = StoreRecordJson.Serialize(box);
        var read = Assert.IsType<BoxRecord>(StoreRecordJson.Deserialize("box", json, "1"));

        Assert.Contains("\"act\":\"Remove\"", json, StringComparison.Ordinal);
        Assert.Equal(box.Mark, read.Mark);
    }

    [Fact]
    public void GivenARowWrittenBeforeMarks_WhenRead_ThenItHasNoMarkAndAnOlderSuspendingFlagIsIgnored()
    {
        var json = """{"id":"ada.dev","userId":"ada","boxName":"dev","volumeId":"v1","created":"2030-01-01T08:00:00+00:00","sessions":[],"suspending":true}""";

        var read = Assert.IsType<BoxRecord>(StoreRecordJson.Deserialize("box", json, "1"));

        Assert.Null(read.Mark);
        Assert.DoesNotContain("mark", StoreRecordJson.Serialize(read), StringComparison.Ordinal);
    }
}
