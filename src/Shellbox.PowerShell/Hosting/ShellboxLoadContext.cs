using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;

namespace Shellbox.PowerShell.Hosting;

/// <summary>
/// The private load context of the engine: every assembly in the module's dependencies folder
/// (Shellbox.Core, the providers, SQLite, Azure.Core, ...) loads here, so a session that already
/// loaded another Azure.Core (Az.Accounts) keeps its own and Shellbox keeps ours.
/// Where the build left a ReadyToRun copy of an assembly for this runtime and platform, that copy loads instead:
/// the same IL with native code beside it, so an ssh session does not compile the engine's methods again.
/// </summary>
internal sealed class ShellboxLoadContext : AssemblyLoadContext
{
    private readonly string dependencies;
    private readonly string readyToRun;

    public ShellboxLoadContext(string dependencies)
        : base("Shellbox", isCollectible: false)
    {
        this.dependencies = dependencies;
        readyToRun = Path.Combine(dependencies, "readytorun", ReadyToRunFolder());
    }

    public bool Owns(AssemblyName name) => File.Exists(AssemblyPath(name));

    /// <summary>
    /// net10-linux-x64 and the like (build/ReadyToRun.ps1 names it the same way): a runtime uses ReadyToRun code only
    /// of its own major version's format and its own platform, and a Linux image does not load on Windows at all.
    /// </summary>
    internal static string ReadyToRunFolder() =>
        $"net{Environment.Version.Major}-{(OperatingSystem.IsLinux() ? "linux" : OperatingSystem.IsWindows() ? "win" : "osx")}-{RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant()}";

    protected override Assembly? Load(AssemblyName name)
    {
        // Framework assemblies (and anything we do not ship) come from the default context: null says "not mine".
        var path = AssemblyPath(name);
        if (!File.Exists(path))
        {
            return null;
        }

        var precompiled = Path.Combine(readyToRun, name.Name + ".dll");
        return LoadFromAssemblyPath(File.Exists(precompiled) ? precompiled : path);
    }

    protected override IntPtr LoadUnmanagedDll(string unmanagedDllName)
    {
        foreach (var candidate in NativeCandidates(unmanagedDllName))
        {
            if (File.Exists(candidate))
            {
                return LoadUnmanagedDllFromPath(candidate);
            }
        }

        return IntPtr.Zero;
    }

    private string AssemblyPath(AssemblyName name) => Path.Combine(dependencies, name.Name + ".dll");

    /// <summary>runtimes/&lt;rid&gt;/native/ as NuGet lays native libraries out (e_sqlite3 for SQLite).</summary>
    private IEnumerable<string> NativeCandidates(string name)
    {
        var arch = RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
        var (os, prefix, suffix) =
            OperatingSystem.IsWindows() ? ("win", "", ".dll")
            : OperatingSystem.IsMacOS() ? ("osx", "lib", ".dylib")
            : ("linux", "lib", ".so");
        var file = Path.HasExtension(name) ? name : prefix + name + suffix;
        yield return Path.Combine(dependencies, "runtimes", $"{os}-{arch}", "native", file);
        if (os == "linux")
        {
            yield return Path.Combine(dependencies, "runtimes", $"linux-musl-{arch}", "native", file);
        }

        yield return Path.Combine(dependencies, file);
    }
}
