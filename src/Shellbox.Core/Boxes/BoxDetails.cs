using Shellbox.Core.Engine;

namespace Shellbox.Core.Boxes;

/// <summary>
/// A box with what `ssh HOST info NAME` shows beyond its listing: when it was last used, the disk its volume
/// takes (one provider read) and how its RAM state is kept.
/// </summary>
public sealed record BoxDetails(BoxView View, DateTimeOffset LastUsed, long? DiskUsedBytes, string RamState)
{
    public static async Task<BoxDetails> ReadAsync(ShellboxEngine engine, BoxView view, CancellationToken cancellationToken = default)
    {
        var size = await engine.Infrastructure.GetVolumeSizeAsync(view.Box.VolumeId, cancellationToken).ConfigureAwait(false);
        return new(view, view.Box.LastConnected ?? view.Box.Created, size, RamStateOf(view));
    }

    /// <summary>Suspend writes the RAM file and device state to the volume; nothing expires them. A box with a keepalive
    /// is suspended when the keepalive runs out after its last session, not when that session leaves.</summary>
    public static string RamStateOf(BoxView view) => view.State switch
    {
        BoxCatalog.Running when view.Box.Keepalive is not null => "live in the running box; saved to its volume when its keepalive runs out after the last session leaves",
        BoxCatalog.Running => "live in the running box; saved to its volume when the last session leaves",
        BoxCatalog.Lingering => "saved on its volume (suspended, still attached: the next connect resumes it in place)",
        _ => "kept on its volume indefinitely while suspended; the next connect resumes it where it was",
    };
}
