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
            Events = file?.Events?.ToRetention(Path.Combine(stateDirectory, ConfigFileName)) ?? Observability.EventRetention.Default,
            Quotas = file?.Quotas?.ToQuotas(Path.Combine(stateDirectory, ConfigFileName)) ?? UserQuotas.None,
            Providers = new ProviderSections(file?.Sections()),
        }.Validate();
    }

    /// <summary>$XDG_DATA_HOME/shellbox, else ~/.local/share/shellbox (LocalApplicationData on Windows).</summary>
    public static string DefaultStateDirectory(Func<string, string?> environment)
    {
        var dataHome = FirstNonEmpty(environment("XDG_DATA_HOME"), Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify));
        return Path.Combine(dataHome ?? ".", "shellbox");
    }

    private static ShellboxSettings Validate(this ShellboxSettings settings)
    {
        if (settings.Linger < TimeSpan.Zero)
        {
            throw ShellboxException.User("SettingsInvalid", $"{settings.ConfigFile}: lingerSeconds must be 0 or more.");
        }

        // Read here once so a bad keepalive.max fails every command at once, not the first disconnect that needs it.
        _ = KeepaliveSettings.From(settings);
        return settings;
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

    private sealed class SettingsFile
    {
        public string? Provider { get; init; }

        public string? Pool { get; init; }

        public PoolBoundsFile? PoolBounds { get; init; }

        public double? LingerSeconds { get; init; }

        public EventsFile? Events { get; init; }

        public QuotasFile? Quotas { get; init; }

        /// <summary>Every other key; the object-valued ones are provider sections ("local", "azure").</summary>
        [JsonExtensionData]
        public Dictionary<string, JsonElement>? Rest { get; init; }

        public IEnumerable<KeyValuePair<string, string>> Sections() =>
            (Rest ?? []).Where(r => r.Value.ValueKind == JsonValueKind.Object).Select(r => KeyValuePair.Create(r.Key, r.Value.GetRawText()));
    }

    /// <summary>The event log's retention: "events": { "maxAgeDays": 30, "maxCount": 10000 }; a missing field keeps its default.</summary>
    private sealed record EventsFile(double? MaxAgeDays, int? MaxCount)
    {
        public Observability.EventRetention ToRetention(string configFile)
        {
            var defaults = Observability.EventRetention.Default;
            return MaxAgeDays is <= 0 or > 36500 || MaxCount is <= 0
                ? throw ShellboxException.User("SettingsInvalid", $"{configFile}: events.maxAgeDays must be above 0 (at most 36500) and events.maxCount above 0.")
                : new(MaxAgeDays is { } days ? TimeSpan.FromDays(days) : defaults.MaxAge, MaxCount ?? defaults.MaxCount);
        }
    }

    /// <summary>"quotas": { "boxes": 3, "runningBoxes": 1 }: each a whole number of 1 or more; a missing field is no limit.</summary>
    private sealed class QuotasFile
    {
        public double? Boxes { get; init; }

        public double? RunningBoxes { get; init; }

        [JsonExtensionData]
        public Dictionary<string, JsonElement>? Unknown { get; init; }

        public UserQuotas ToQuotas(string configFile)
        {
            if (Unknown?.Keys.FirstOrDefault() is { } unknown)
            {
                throw ShellboxException.User("SettingsInvalid", $"{configFile}: quotas.{unknown} is not a quota; use quotas.boxes or quotas.runningBoxes.");
            }

            return new(Count(Boxes, "boxes", configFile), Count(RunningBoxes, "runningBoxes", configFile));
        }

        private static int? Count(double? value, string field, string configFile) =>
            value is null ? null
            : value is >= 1 and <= 1_000_000 && Math.Floor(value.Value) == value ? (int)value.Value
            : throw ShellboxException.User("SettingsInvalid", $"{configFile}: quotas.{field} must be a whole number from 1 to 1000000 (leave it out for no limit), not {value.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)}.");
    }

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
