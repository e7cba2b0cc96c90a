using Shellbox.Core.Boxes;
using Shellbox.Core.Engine;
using Shellbox.Core.Model;
using Shellbox.Core.Settings;

namespace Shellbox.Core.Users;

/// <summary>One user as the operator sees it: blocked or not, how many boxes (running), and the quotas that apply.</summary>
public sealed record UserSummary(string UserId, UserRecord? Record, int Boxes, int RunningBoxes, UserQuotas Quotas)
{
    public bool IsBlocked => Record?.IsBlocked == true;

    /// <summary>A point read of the user's row and the range read of the user's boxes.</summary>
    public static async Task<UserSummary> ReadAsync(ShellboxEngine engine, string userId, CancellationToken cancellationToken = default)
    {
        var record = await new BlockList(engine).GetAsync(userId, cancellationToken).ConfigureAwait(false);
        return await OfAsync(engine, userId, record, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The blocked users, each with its box counts.</summary>
    public static async Task<IReadOnlyList<UserSummary>> ReadBlockedAsync(ShellboxEngine engine, CancellationToken cancellationToken = default)
    {
        var summaries = new List<UserSummary>();
        foreach (var record in await new BlockList(engine).ListBlockedAsync(cancellationToken).ConfigureAwait(false))
        {
            summaries.Add(await OfAsync(engine, record.Id, record, cancellationToken).ConfigureAwait(false));
        }

        return summaries;
    }

    private static async Task<UserSummary> OfAsync(ShellboxEngine engine, string userId, UserRecord? record, CancellationToken cancellationToken)
    {
        var boxes = await engine.Store.ListBoxesAsync(BoxNames.ValidateUser(userId), cancellationToken).ConfigureAwait(false);
        return new(userId, record, boxes.Count, boxes.Count(b => b.InstanceId is not null), engine.Settings.Quotas);
    }
}
