using System.Security.Cryptography;
using System.Text;
using Shellbox.Azure.Settings;
using Shellbox.Core.Errors;
using Shellbox.Core.Model;

namespace Shellbox.Azure.Golden;

/// <summary>
/// What a golden snapshot is made from, and its versioned name: golden-snapshot-&lt;first 12 hex of the
/// sha256 of the build script's content, the VM image and size, the agent package and the control key&gt;.
/// A change to any of them names a new golden; the same inputs find the existing one.
/// </summary>
internal sealed record GoldenInputs(string ScriptContent, string Image, string VmSize, string AgentPackage, string ControlPublicKey, int VolumeSizeGB)
{
    private const string ScriptRelativePath = "assets/golden/build-golden.sh";

    public string Version
    {
        get
        {
            var text = string.Join('\n', Sha(ScriptContent), Image, VmSize, AgentPackage, ControlPublicKey, VolumeSizeGB);
            return $"{ShellboxLimits.GoldenSnapshotPrefix}-{Sha(text)[..12]}";
        }
    }

    public static GoldenInputs Read(AzureProviderSettings settings, string controlPublicKey, string? scriptPath) => new(
        ScriptsContent(LocateScript(scriptPath)),
        settings.Image,
        settings.VmSize,
        // The URL without its query: a SAS token rotates without changing the package.
        settings.AgentPackageUrl?.Split('?', 2)[0] ?? "image",
        controlPublicKey,
        settings.VolumeSizeGB);

    /// <summary>
    /// The build script and the per-guest scripts beside it (build-golden-*.sh, which it runs): a change to a guest's
    /// script alone (a package added) must name a new golden too.
    /// </summary>
    private static string ScriptsContent(string script)
    {
        var guests = Directory.GetFiles(Path.GetDirectoryName(script)!, "build-golden-*.sh").Order(StringComparer.Ordinal);
        return string.Join("\n", new[] { script }.Concat(guests).Select(f => File.ReadAllText(f).Replace("\r\n", "\n", StringComparison.Ordinal)));
    }

    /// <summary>The configured script, or assets/golden/build-golden.sh beside the assembly or above it.</summary>
    public static string LocateScript(string? configured)
    {
        if (configured is not null)
        {
            return File.Exists(configured)
                ? Path.GetFullPath(configured)
                : throw ShellboxException.User("GoldenScriptNotFound", $"The golden build script '{configured}' does not exist.");
        }

        var starts = new[] { Path.GetDirectoryName(typeof(GoldenInputs).Assembly.Location), AppContext.BaseDirectory }
            .OfType<string>().Where(s => s.Length > 0).Distinct();
        foreach (var start in starts)
        {
            for (var folder = new DirectoryInfo(start); folder is not null; folder = folder.Parent)
            {
                var candidate = Path.Combine(folder.FullName, ScriptRelativePath);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        throw ShellboxException.User("GoldenScriptNotFound", $"Could not find {ScriptRelativePath} beside the Shellbox assemblies or above them.");
    }

    private static string Sha(string text) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text))).ToLowerInvariant();
}
