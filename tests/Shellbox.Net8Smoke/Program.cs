using System.Reflection;
using System.Runtime.Loader;
using Shellbox.Net8Smoke;
using Shellbox.PowerShell.Hosting;

// Shellbox.Net8Smoke <the built module's dependencies folder>
// Exit 0 when every check passed; 1 (with the failed check named) otherwise.
if (args.Length != 1 || !Directory.Exists(args[0]))
{
    Console.Error.WriteLine("usage: Shellbox.Net8Smoke <out/Shellbox/dependencies>");
    return 2;
}

var dependencies = Path.GetFullPath(args[0]);
var engine = new ShellboxLoadContext(dependencies);

// As the module's initializer does: the default context hands every Shellbox.* assembly to the private context,
// whose own Load then serves SQLite, Azure.Core and the rest from the dependencies folder.
AssemblyLoadContext.Default.Resolving += (_, name) =>
    name.Name is { } n && n.StartsWith("Shellbox.", StringComparison.Ordinal) && engine.Owns(name)
        ? engine.LoadFromAssemblyName(name)
        : null;

var checks = new SmokeChecks(engine, dependencies);
try
{
    await checks.RunAllAsync();
}
catch (Exception e)
{
    Console.Error.WriteLine($"net8 smoke FAILED at '{checks.Current}': {e.GetType().Name}: {e.Message}");
    Console.Error.WriteLine(e);
    return 1;
}

Console.WriteLine($"net8 smoke: {checks.Passed} checks passed on {System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}");
return 0;
