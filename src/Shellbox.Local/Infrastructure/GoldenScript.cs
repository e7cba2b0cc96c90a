using Shellbox.Core.Errors;
using Shellbox.Local.Files;

namespace Shellbox.Local.Infrastructure;

/// <summary>assets/golden/build-golden.sh: builds the guest (kernel, initrd, root disk) and hashes its inputs.</summary>
internal sealed class GoldenScript(string path)
{
    public const string RelativePath = "assets/golden/build-golden.sh";

    public string Path { get; } = path;

    /// <summary>
    /// The configured script, else the first assets/golden/build-golden.sh found beside this assembly or the
    /// application, or in a folder above them (the module ships a copy of assets/; the repo has the original).
    /// </summary>
    public static GoldenScript Locate(string? configured)
    {
        if (configured is not null)
        {
            return File.Exists(configured)
                ? new GoldenScript(System.IO.Path.GetFullPath(configured))
                : throw ShellboxException.User("GoldenScriptNotFound", $"The golden build script '{configured}' does not exist.");
        }

        var starts = new[] { System.IO.Path.GetDirectoryName(typeof(GoldenScript).Assembly.Location), AppContext.BaseDirectory }
            .OfType<string>().Where(s => s.Length > 0).Distinct().ToList();
        foreach (var start in starts)
        {
            for (var folder = new DirectoryInfo(start); folder is not null; folder = folder.Parent)
            {
                var candidate = System.IO.Path.Combine(folder.FullName, RelativePath);
                if (File.Exists(candidate))
                {
                    return new GoldenScript(candidate);
                }
            }
        }

        throw ShellboxException.User("GoldenScriptNotFound", $"Cannot find {RelativePath} in or above {string.Join(" or ", starts)}; pass its path in LocalProviderOptions.GoldenScriptPath.");
    }

    /// <summary>The hash of the guest's build inputs (package versions, the script, the key, the disk size); downloads nothing.</summary>
    public async Task<string> PrintHashAsync(string authorizedKeyFile, GuestBuild guest, CancellationToken cancellationToken)
    {
        var output = await ExternalTool.RunAsync("bash", [Path, .. guest.Arguments, "--authorized-key", authorizedKeyFile, "--print-hash"], cancellationToken, "GoldenBuildFailed").ConfigureAwait(false);
        var hash = output.Trim();
        return hash.Length >= 12 && hash.All(char.IsAsciiHexDigit)
            ? hash.ToLowerInvariant()
            : throw ShellboxException.Service("GoldenBuildFailed", $"{Path} --print-hash printed no hash.");
    }

    /// <summary>
    /// Builds base.qcow2, vmlinuz, initrd.img and manifest.json into <paramref name="outputFolder"/>; downloaded
    /// packages are kept in <paramref name="packageCache"/> for the next build.
    /// </summary>
    public Task BuildAsync(string authorizedKeyFile, GuestBuild guest, string outputFolder, string packageCache, CancellationToken cancellationToken) =>
        ExternalTool.RunAsync("bash", [Path, .. guest.Arguments, "--cache", packageCache, "--authorized-key", authorizedKeyFile, "--out", outputFolder], cancellationToken, "GoldenBuildFailed");
}

/// <summary>Which guest the golden holds (<see cref="GuestKinds"/>) and the size of its sparse disk.</summary>
internal sealed record GuestBuild(string Guest, int DiskGiB)
{
    public static GuestBuild From(LocalProviderSettings local) => new(local.Guest, local.DiskGiB);

    public IReadOnlyList<string> Arguments => ["--guest", Guest, "--disk-size", $"{DiskGiB.ToString(System.Globalization.CultureInfo.InvariantCulture)}G"];
}
