namespace Shellbox.Local.Files;

/// <summary>
/// Copies the big files of a box (disk, RAM) with cp: sparse, and a reflink where the filesystem shares
/// extents, so an untouched RAM page or disk cluster costs no room and no time.
/// </summary>
internal static class SparseCopy
{
    /// <summary>Copies <paramref name="sources"/> to <paramref name="destination"/> (a file for one source, a folder for several).</summary>
    public static Task RunAsync(IEnumerable<string> sources, string destination, CancellationToken cancellationToken, string? errorId = null) =>
        ExternalTool.RunAsync("cp", ["--reflink=auto", "--sparse=always", .. sources, destination], cancellationToken, errorId);
}
