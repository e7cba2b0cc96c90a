using Shellbox.Core.Users;

namespace Shellbox.PowerShell.Output;

/// <summary>A user (a public key): blocked or not, boxes and running boxes against the quotas (null: no limit).</summary>
public sealed class ShellboxUserInfo
{
    internal ShellboxUserInfo(UserSummary summary)
    {
        UserId = summary.UserId;
        Blocked = summary.IsBlocked;
        BlockedAt = summary.Record?.BlockedAt;
        BlockReason = summary.Record?.BlockReason;
        Boxes = summary.Boxes;
        RunningBoxes = summary.RunningBoxes;
        BoxQuota = summary.Quotas.Boxes;
        RunningBoxQuota = summary.Quotas.RunningBoxes;
    }

    public string UserId { get; }

    public bool Blocked { get; }

    public DateTimeOffset? BlockedAt { get; }

    public string? BlockReason { get; }

    public int Boxes { get; }

    public int RunningBoxes { get; }

    public int? BoxQuota { get; }

    public int? RunningBoxQuota { get; }
}
