using System.Text.Json;
using Shellbox.Core.Boxes;
using Shellbox.Core.Errors;

namespace Shellbox.Core.Settings;

/// <summary>
/// The `keepalive` section of shellbox.json, e.g. <c>"keepalive": { "max": "8h" }</c>: the longest a box may
/// keep running after its last session leaves. Read when a keepalive is set or applied; a bad value is one
/// error naming the field.
/// </summary>
public sealed record KeepaliveSettings(TimeSpan Max)
{
    public const string SectionName = "keepalive";

    public static readonly TimeSpan DefaultMax = TimeSpan.FromHours(4);

    public static KeepaliveSettings From(ShellboxSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.Providers[SectionName] is not { } section)
        {
            return new(DefaultMax);
        }

        string? max;
        try
        {
            using var json = JsonDocument.Parse(section);
            var field = json.RootElement.EnumerateObject().FirstOrDefault(p => string.Equals(p.Name, "max", StringComparison.OrdinalIgnoreCase));
            max = field.Value.ValueKind switch
            {
                JsonValueKind.Undefined => null,
                JsonValueKind.String => field.Value.GetString(),
                _ => throw Invalid(settings, "keepalive.max must be a string such as \"8h\"."),
            };
        }
        catch (JsonException e)
        {
            throw Invalid(settings, $"the keepalive section is not valid: {e.Message}");
        }

        if (max is null)
        {
            return new(DefaultMax);
        }

        try
        {
            return new(KeepaliveDuration.Parse(max, "keepalive.max") ?? TimeSpan.Zero);
        }
        catch (ShellboxException e)
        {
            throw Invalid(settings, e.Message);
        }
    }

    private static ShellboxException Invalid(ShellboxSettings settings, string why) =>
        ShellboxException.User("SettingsInvalid", $"{settings.ConfigFile}: {why}");
}
