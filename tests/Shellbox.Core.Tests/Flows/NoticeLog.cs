using Shellbox.Core.Boxes;

namespace Shellbox.Core.Tests.Flows;

/// <summary>The lines one connect told its user (what the cmdlet writes to the warning stream), in order.</summary>
public sealed class NoticeLog : IProgress<ConnectNotice>
{
    private readonly List<string> lines = [];

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (lines)
            {
                return [.. lines];
            }
        }
    }

    public void Report(ConnectNotice value)
    {
        lock (lines)
        {
            lines.Add(value.ToString());
        }
    }
}
