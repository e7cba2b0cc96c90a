using System.Text.Json;
using System.Text.Json.Serialization;
using Shellbox.Core.Errors;
using Shellbox.Core.Model;

namespace Shellbox.Core.Settings;

/// <summary>
/// Resolves settings: an explicit state directory (cmdlet parameter) beats SHELLBOX_HOME, which beats
/// the default under the user's data folder; inside it, shellbox.json sets provider and pool, and the
/// SHELLBOX_PROVIDER / SHELLBOX_POOL environment variables override the file.
/// </summary>
public static class SettingsResolver
{
    public const string ConfigFileName = "shellbox.json";
    public const string HomeVariable = "SHELLBOX_HOME";
    public const string ProviderVariable = "SHELLBOX_PROVIDER";
    public const string PoolVariable = "SHELLBOX_POOL";

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNameCaseInsensitive = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <param name="explicitStateDirectory">The -StateDirectory parameter, if given.</param>
    /// <param name="environment">Reads an environment variable (injected so tests do not touch the process).</param>
    public static ShellboxSettings Resolve(string? explicitStateDirectory, Func<string, string?> environment)
    {
        var stateDirectory = Path.GetFullPath(FirstNonEmpty(explicitStateDirectory, environment(HomeVariable)) ?? DefaultStateDirectory(environment));
        var file = ReadFile(Path.Combine(stateDirectory, ConfigFileName));

        var provider = FirstNonEmpty(environment(ProviderVariable), file?.Provider) ?? ShellboxSettings.LocalProvider;
        provider = provider.ToUpperInvariant() switch
        {
            "LOCAL" => ShellboxSettings.LocalProvider,
            "AZURE" => ShellboxSettings.AzureProvider,
            _ => throw ShellboxException.User("ProviderUnknown", $"There is no provider named '{provider}'; use Local or Azure."),
        };

        var pool = PoolConfig.Named(FirstNonEmpty(environment(PoolVariable), file?.Pool) ?? "Dev");
        if (file?.PoolBounds is { } bounds)
        {
            pool = bounds.ApplyTo(pool);
        }

        return new ShellboxSettings
        {
            Provider = provider,
            StateDirectory = stateDirectory,
            Pool = pool.Validate(),
            Linger = TimeSpan.FromSeconds(file?.LingerSeconds ?? 0),
            Local = file?.Local ?? new LocalProviderSettings(),
        }.ValidateLocal();
    }

    /// <summary>$XDG_DATA_HOME/shellbox, else ~/.local/share/shellbox (LocalApplicationData on Windows).</summary>
    public static string DefaultStateDirectory(Func<string, string?> environment)
    {
        var dataHome = FirstNonEmpty(environment("XDG_DATA_HOME"), Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify));
        return Path.Combine(dataHome ?? ".", "shellbox");
    }

    private static ShellboxSettings ValidateLocal(this ShellboxSettings settings)
    {
        var local = settings.Local;
        if (local.MaxSlots is < 1 or > 64)
        {
            throw ShellboxException.User("SettingsInvalid", $"{settings.ConfigFile}: local.maxSlots must be between 1 and 64, not {local.MaxSlots}.");
        }

        if (local.BasePort is < 1024 || local.BasePort + local.MaxSlots > 65535)
        {
            throw ShellboxException.User("SettingsInvalid", $"{settings.ConfigFile}: local.basePort must leave room for {local.MaxSlots} ports between 1024 and 65535, not {local.BasePort}.");
        }

        if (local.MemoryMiB is < 64 or > 16384)
        {
            throw ShellboxException.User("SettingsInvalid", $"{settings.ConfigFile}: local.memoryMiB must be between 64 and 16384, not {local.MemoryMiB}.");
        }

        return settings.Linger < TimeSpan.Zero
            ? throw ShellboxException.User("SettingsInvalid", $"{settings.ConfigFile}: lingerSeconds must be 0 or more.")
            : settings;
    }

    private static SettingsFile? ReadFile(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<SettingsFile>(File.ReadAllText(path), Json);
        }
        catch (JsonException e)
        {
            throw ShellboxException.User("SettingsInvalid", $"{path} is not valid settings JSON: {e.Message}");
        }
    }

    private static string? FirstNonEmpty(params string?[] values) => values.FirstOrDefault(v => !string.IsNullOrWhiteSpace(v));

    private sealed record SettingsFile(string? Provider, string? Pool, PoolBoundsFile? PoolBounds, double? LingerSeconds, LocalProviderSettings? Local);

    /// <summary>Overrides of a named pool configuration, field by field.</summary>
    private sealed record PoolBoundsFile(
        int? MinFreeInstances, int? MaxFreeInstances, int? MaxTotalInstances,
        int? MinFreeVolumes, int? MaxFreeVolumes, int? MaxTotalVolumes,
        double? CheckIntervalSeconds, double? ScaleDownCooldownSeconds)
    {
        public PoolConfig ApplyTo(PoolConfig pool) => pool with
        {
            Name = pool.Name + " (custom)",
            MinFreeInstances = MinFreeInstances ?? pool.MinFreeInstances,
            MaxFreeInstances = MaxFreeInstances ?? pool.MaxFreeInstances,
            MaxTotalInstances = MaxTotalInstances ?? pool.MaxTotalInstances,
            MinFreeVolumes = MinFreeVolumes ?? pool.MinFreeVolumes,
            MaxFreeVolumes = MaxFreeVolumes ?? pool.MaxFreeVolumes,
            MaxTotalVolumes = MaxTotalVolumes ?? pool.MaxTotalVolumes,
            CheckInterval = CheckIntervalSeconds is { } c ? TimeSpan.FromSeconds(c) : pool.CheckInterval,
            ScaleDownCooldown = ScaleDownCooldownSeconds is { } s ? TimeSpan.FromSeconds(s) : pool.ScaleDownCooldown,
        };
    }
}
