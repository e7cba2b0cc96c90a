using System.Management.Automation;
using System.Reflection;
using System.Runtime.Loader;

namespace Shellbox.PowerShell.Hosting;

/// <summary>
/// Runs when Import-Module loads the cmdlet assembly: routes the engine's assemblies, when the default
/// context asks for them, to the private <see cref="ShellboxLoadContext"/>.
/// </summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    private static readonly ShellboxLoadContext Engine = new(
        Path.Combine(Path.GetDirectoryName(typeof(ModuleInitializer).Assembly.Location)!, "dependencies"));

    public void OnImport() => AssemblyLoadContext.Default.Resolving += ResolveEngine;

    public void OnRemove(PSModuleInfo psModuleInfo) => AssemblyLoadContext.Default.Resolving -= ResolveEngine;

    private static Assembly? ResolveEngine(AssemblyLoadContext context, AssemblyName name) =>
        name.Name is { } n && n.StartsWith("Shellbox.", StringComparison.Ordinal) && Engine.Owns(name)
            ? Engine.LoadFromAssemblyName(name)
            : null;
}
