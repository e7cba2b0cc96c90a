using System.Text.Json;
using Shellbox.Core.Errors;
using Shellbox.Core.Settings;

namespace Shellbox.Local;

/// <summary>The `local` section of shellbox.json: knobs of the Local provider, validated here, not in Core.</summary>
public sealed record LocalProviderSettings
{
    public const string SectionName = "local";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <summary>How many boxes may run on this machine at once (local instance slots).</summary>
    public int MaxSlots { get; init; } = 4;

    /// <summary>First loopback port forwarded to a box's SSH server; slot N uses BasePort + N.</summary>
    public int BasePort { get; init; } = 22200;

    /// <summary>
    /// The guest every box runs: "debian" (a Debian 12 system, the default) or "minimal" (busybox and
    /// dropbear: quick to build and boot, for tests). Part of the golden's version.
    /// </summary>
    public string Guest { get; init; } = GuestKinds.Debian;

    private readonly int? memoryMiB;

    /// <summary>Guest RAM per box: 512 MiB for the Debian guest, 256 MiB for the minimal one unless set.</summary>
    public int MemoryMiB
    {
        get => memoryMiB ?? (Guest == GuestKinds.Minimal ? 256 : 512);
        init => memoryMiB = value;
    }

    private readonly int? diskGiB;

    /// <summary>The box's disk (sparse: it takes only what is written): 8 GiB for the Debian guest, 1 GiB for the minimal one unless set.</summary>
    public int DiskGiB
    {
        get => diskGiB ?? (Guest == GuestKinds.Minimal ? 1 : 8);
        init => diskGiB = value;
    }

    /// <summary>The section of <paramref name="settings"/>, or the defaults; a bad value is one error naming the field.</summary>
    public static LocalProviderSettings From(ShellboxSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        LocalProviderSettings local;
        try
        {
            local = settings.Providers[SectionName] is { } section
                ? JsonSerializer.Deserialize<LocalProviderSettings>(section, Json) ?? new()
                : new();
        }
        catch (JsonException e)
        {
            throw ShellboxException.User("SettingsInvalid", $"{settings.ConfigFile}: the local section is not valid: {e.Message}");
        }

        return local.Validate(settings.ConfigFile);
    }

    private LocalProviderSettings Validate(string configFile)
    {
        if (MaxSlots is < 1 or > 64)
        {
            throw Invalid(configFile, $"local.maxSlots must be between 1 and 64, not {MaxSlots}.");
        }

        if (BasePort is < 1024 || BasePort + MaxSlots > 65535)
        {
            throw Invalid(configFile, $"local.basePort must leave room for {MaxSlots} ports between 1024 and 65535, not {BasePort}.");
        }

        if (Guest is not (GuestKinds.Debian or GuestKinds.Minimal))
        {
            throw Invalid(configFile, $"local.guest must be \"{GuestKinds.Debian}\" or \"{GuestKinds.Minimal}\", not \"{Guest}\".");
        }

        if (DiskGiB is < 1 or > 4096)
        {
            throw Invalid(configFile, $"local.diskGiB must be between 1 and 4096, not {DiskGiB}.");
        }

        return MemoryMiB is < 64 or > 16384
            ? throw Invalid(configFile, $"local.memoryMiB must be between 64 and 16384, not {MemoryMiB}.")
            : this;
    }

    private static ShellboxException Invalid(string configFile, string why) => ShellboxException.User("SettingsInvalid", $"{configFile}: {why}");
}

/// <summary>Writes the Local section into settings (tests, the benchmark, and callers that build settings in code).</summary>
public static class LocalSettingsExtensions
{
    public static ShellboxSettings WithLocal(this ShellboxSettings settings, LocalProviderSettings local) =>
        settings with { Providers = settings.Providers.With(LocalProviderSettings.SectionName, local) };

    public static LocalProviderSettings Local(this ShellboxSettings settings) => LocalProviderSettings.From(settings);
}
