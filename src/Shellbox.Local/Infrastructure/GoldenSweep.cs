using System.Text.Json;
using Microsoft.Extensions.Logging;
using Shellbox.Core.Errors;
using Shellbox.Core.Observability;
using Shellbox.Local.Files;

namespace Shellbox.Local.Infrastructure;

/// <summary>
/// Removes the golden versions nothing needs any more, run after a new one is built (each is hundreds of MB).
/// A golden stays while a current*.json names it (each guest and machine keeps the one it settled on), while a
/// volume of this state folder leans on it (its meta.json, or the backing chain of a volume still being made or
/// copied), while a process holds one of its files open (a running box of another state folder that shares
/// this golden folder), and for <paramref name="keptFor"/> after its last use (<see cref="MarkUsed"/>): a process
/// sharing the golden folder with other build inputs (another checkout, another key) may be about to clone it.
/// A suspended volume of another state folder is not seen: a golden folder shared that way (the tests' cache)
/// is shared by folders that live as long as one run.
/// </summary>
internal sealed class GoldenSweep(LocalState state, TimeSpan keptFor)
{
    private const string Category = "Shellbox.Local.Golden";

    private LocalLayout Layout => state.Layout;

    /// <summary>Removes every golden nothing needs; returns the versions removed. Run under the golden folder's build lock.</summary>
    public async Task<IReadOnlyList<string>> RunAsync(CancellationToken cancellationToken)
    {
        // Under the state lock a volume create cannot clone a golden between this scan and the removal.
        using var _ = await state.LockAsync(cancellationToken).ConfigureAwait(false);
        RemoveLeftovers();
        var named = NamedVersions();
        var idleSince = DateTime.UtcNow - keptFor; // file times are shared with other processes: real time, not this engine's clock
        var candidates = CompleteGoldens().Where(g => !named.Contains(g.Version) && LastUsed(g.Folder) <= idleSince).ToList();
        if (candidates.Count == 0)
        {
            return [];
        }

        var used = await VolumeReferencesAsync(cancellationToken).ConfigureAwait(false);
        var open = OpenFiles();
        var removed = new List<string>();
        foreach (var (version, folder) in candidates)
        {
            if (used.Contains(version) || used.Contains(folder))
            {
                ShellboxLog.For(Category).LogInformation("golden version={Version} kept: a volume still uses it", version);
                continue;
            }

            if (open.FirstOrDefault(f => f.StartsWith(folder + Path.DirectorySeparatorChar, StringComparison.Ordinal)) is { } file)
            {
                ShellboxLog.For(Category).LogInformation("golden version={Version} kept: a process holds file={File} open", version, file);
                continue;
            }

            // Renamed to a dot-name first: a crash mid-delete leaves nothing that reads as a golden.
            var doomed = Path.Combine(Layout.GoldenRoot, $".{version}.deleting.{Guid.NewGuid():N}");
            Directory.Move(folder, doomed);
            AtomicFile.SyncDirectory(Layout.GoldenRoot);
            WorkFolder.TryDelete(doomed, Category);
            ShellboxLog.For(Category).LogInformation("golden version={Version} removed folder={Folder}: not current, no volume uses it, unused for {KeptFor}", version, folder, keptFor);
            removed.Add(version);
        }

        return removed;
    }

    /// <summary>
    /// Deletes what a crashed build or an unfinished removal left: the sweep runs under the build lock, so no
    /// build is running in a .build-* folder now.
    /// </summary>
    private void RemoveLeftovers()
    {
        foreach (var left in Directory.EnumerateDirectories(Layout.GoldenRoot, ".build-*").Concat(Directory.EnumerateDirectories(Layout.GoldenRoot, ".*.deleting.*")))
        {
            WorkFolder.TryDelete(left, Category);
        }
    }

    /// <summary>
    /// Records a use of the golden in its folder's time stamp, which the sweep of any process reads: real time, not
    /// an engine's clock (a test's fake or shifted clock would move another process's sweep).
    /// </summary>
    public static void MarkUsed(string goldenFolder)
    {
        try
        {
            Directory.SetLastWriteTimeUtc(goldenFolder, DateTime.UtcNow);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A golden folder of another user's: only its sweep comes sooner.
            ShellboxLog.Dropped(Category, $"use of golden folder={goldenFolder} not recorded", e, routine: true);
        }
    }

    private static DateTime LastUsed(string goldenFolder) => Directory.GetLastWriteTimeUtc(goldenFolder);

    /// <summary>The versions a current*.json names: what each guest and machine settled on last.</summary>
    private HashSet<string> NamedVersions() =>
        Directory.EnumerateFiles(Layout.GoldenRoot, "current*.json")
            .Select(p => AtomicFile.ReadJson<CurrentGolden>(p)?.Version)
            .OfType<string>()
            .ToHashSet(StringComparer.Ordinal);

    /// <summary>Golden folders with their golden.json, made here (a linked-in folder belongs to someone else).</summary>
    private IEnumerable<(string Version, string Folder)> CompleteGoldens() =>
        Directory.EnumerateDirectories(Layout.GoldenRoot)
            .Where(d => !Path.GetFileName(d).StartsWith('.') && new DirectoryInfo(d).LinkTarget is null)
            .Select(d => (Meta: state.ReadGolden(d), Folder: Path.GetFullPath(d)))
            .Where(g => g.Meta is not null && g.Meta.Version == Path.GetFileName(g.Folder))
            .Select(g => (g.Meta!.Version, g.Folder));

    /// <summary>
    /// The golden versions and folders the volumes of this state folder use: a volume's meta.json names both; a
    /// volume still being made or copied may have no meta.json yet, so its disk's backing chain is read instead.
    /// </summary>
    private async Task<HashSet<string>> VolumeReferencesAsync(CancellationToken cancellationToken)
    {
        var used = new HashSet<string>(StringComparer.Ordinal);
        if (!Directory.Exists(Layout.VolumesRoot))
        {
            return used;
        }

        foreach (var folder in Directory.EnumerateDirectories(Layout.VolumesRoot))
        {
            if (Path.GetFileName(folder).Contains(".deleting.", StringComparison.Ordinal))
            {
                continue;
            }

            if (AtomicFile.ReadJson<VolumeMeta>(Path.Combine(folder, LocalFiles.VolumeMeta)) is { } meta)
            {
                used.Add(meta.Golden);
                used.Add(Path.GetFullPath(Path.Combine(folder, meta.GoldenLocation)));
            }
            else if (File.Exists(Path.Combine(folder, LocalFiles.Disk)))
            {
                foreach (var backing in await BackingFilesAsync(Path.Combine(folder, LocalFiles.Disk), cancellationToken).ConfigureAwait(false))
                {
                    used.Add(Path.GetDirectoryName(Path.GetFullPath(backing))!);
                }
            }
        }

        return used;
    }

    /// <summary>Every file in the disk's backing chain (qemu-img info --backing-chain); -U reads a disk another process has open.</summary>
    private static async Task<IReadOnlyList<string>> BackingFilesAsync(string disk, CancellationToken cancellationToken)
    {
        // A disk qemu-img cannot read throws: the sweep then removes nothing rather than guess.
        var json = await ExternalTool.RunAsync("qemu-img", ["info", "-U", "--backing-chain", "--output=json", disk], cancellationToken, "GoldenSweepFailed").ConfigureAwait(false);
        using var chain = JsonDocument.Parse(json);
        return chain.RootElement.EnumerateArray()
            .Select(image => image.TryGetProperty("full-backing-filename", out var full) ? full.GetString()
                : image.TryGetProperty("backing-filename", out var name) ? name.GetString() : null)
            .OfType<string>()
            .ToList();
    }

    /// <summary>The files every process this user can see holds open (/proc/*/fd), resolved to full paths.</summary>
    private static List<string> OpenFiles()
    {
        var files = new List<string>();
        if (!Directory.Exists("/proc"))
        {
            return files;
        }

        foreach (var process in Directory.EnumerateDirectories("/proc").Where(d => Path.GetFileName(d).All(char.IsAsciiDigit)))
        {
            try
            {
                foreach (var fd in Directory.EnumerateFileSystemEntries(Path.Combine(process, "fd")))
                {
                    if (new FileInfo(fd).LinkTarget is { } target && target.StartsWith('/'))
                    {
                        files.Add(target);
                    }
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A process that ended meanwhile, or another user's: neither runs a box of ours.
            }
        }

        return files;
    }
}
