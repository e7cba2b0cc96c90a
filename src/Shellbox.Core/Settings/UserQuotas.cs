namespace Shellbox.Core.Settings;

/// <summary>
/// Per-user limits from shellbox.json ("quotas": { "boxes": 3, "runningBoxes": 1 }); null means no limit.
/// Every user has the same quotas; the operator blocks a user who should have none.
/// </summary>
public sealed record UserQuotas(int? Boxes = null, int? RunningBoxes = null)
{
    public static UserQuotas None { get; } = new();
}
