using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;

namespace Shellbox.PowerShell.Hosting;

/// <summary>
/// The private load context of the engine: every assembly in the module's dependencies folder
/// (Shellbox.Core, the providers, SQLite, Azure.Core, ...) loads here, so a session that already
/// loaded another Azure.Core (Az.Accounts) keeps its own and Shellbox keeps ours.
/// </summary>
internal sealed class ShellboxLoadContext : AssemblyLoadContext
{
    private readonly string dependencies;

    public ShellboxLoadContext(string dependencies)
        : base("Shellbox", isCollectible: false)
    {
        this.dependencies = dependencies;
    }

    public bool Owns(AssemblyName name) => File.Exists(AssemblyPath(name));

    protected override Assembly? Load(AssemblyName name)
    {
        // Framework assemblies (and anything we do not ship) come from the default context: null says "not mine".
        var path = AssemblyPath(name);
        return File.Exists(path) ? LoadFromAssemblyPath(path) : null;
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
