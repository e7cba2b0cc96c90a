using System.Collections.Concurrent;
using Shellbox.Azure;
using Shellbox.Core.Engine;
using Shellbox.Core.Errors;
using Shellbox.Core.Settings;
using Shellbox.Local;

namespace Shellbox.PowerShell.Hosting;

/// <summary>
/// One engine per state location per session, so repeated cmdlets reuse the store's connection pool.
/// Settings are resolved on every call; when they changed (shellbox.json edited), the engine is rebuilt.
/// </summary>
internal static class EngineCache
{
    private static readonly ConcurrentDictionary<string, ShellboxEngine> Engines = new(StringComparer.Ordinal);

    public static ShellboxEngine Get(string? explicitStateDirectory)
    {
        var settings = SettingsResolver.Resolve(explicitStateDirectory, Environment.GetEnvironmentVariable);
        return Engines.AddOrUpdate(
            settings.StateDirectory,
            _ => Create(settings),
            (_, existing) => existing.Settings == settings ? existing : Create(settings));
    }

    private static ShellboxEngine Create(ShellboxSettings settings) => settings.Provider switch
    {
        ShellboxSettings.LocalProvider => LocalProvider.CreateEngine(settings, TimeProvider.System),

        // Opening the pool table is one network call; cmdlets build engines synchronously, once per session and settings.
        ShellboxSettings.AzureProvider => AzureProvider.CreateEngineAsync(settings, TimeProvider.System).GetAwaiter().GetResult(),
        _ => throw ShellboxException.User("ProviderUnknown", $"There is no provider named '{settings.Provider}'; use Local or Azure."),
    };
}
