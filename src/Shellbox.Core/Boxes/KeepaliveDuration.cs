using System.Globalization;
using System.Text.RegularExpressions;
using Shellbox.Core.Errors;

namespace Shellbox.Core.Boxes;

/// <summary>
/// How a keepalive is written by a user and in shellbox.json: "90s", "30m", "2h", "1h30m" (seconds, minutes,
/// hours, days; each unit at most once, largest first), or "off".
/// </summary>
public static partial class KeepaliveDuration
{
    public const string Off = "off";

    public const string Rule = "a duration such as 30m, 2h or 1h30m (units d, h, m, s), or off";

    /// <summary>The duration, or null for "off"; anything else is one clear error naming <paramref name="what"/>.</summary>
    public static TimeSpan? Parse(string? text, string what = "keepalive")
    {
        var trimmed = text?.Trim() ?? "";
        if (string.Equals(trimmed, Off, StringComparison.Ordinal))
        {
            return null;
        }

        var match = DurationPattern().Match(trimmed);
        if (!match.Success || trimmed.Length == 0 || trimmed.Length > 24)
        {
            throw ShellboxException.User("KeepaliveInvalid", $"'{Printable(trimmed)}' is not a valid {what}: {Rule}.");
        }

        double Part(string unit) => match.Groups[unit].Success ? double.Parse(match.Groups[unit].Value, CultureInfo.InvariantCulture) : 0;
        var seconds = Part("d") * 86400 + Part("h") * 3600 + Part("m") * 60 + Part("s");
        return seconds is > 0 and <= 366 * 86400
            ? TimeSpan.FromSeconds(seconds)
            : throw ShellboxException.User("KeepaliveInvalid", $"'{Printable(trimmed)}' is not a valid {what}: it must be more than 0 s and at most a year.");
    }

    /// <summary>The short form shown to users: "2h", "1h30m", "45s".</summary>
    public static string Format(TimeSpan duration)
    {
        var parts = new List<string>();
        if (duration.Days > 0)
        {
            parts.Add($"{duration.Days}d");
        }

        if (duration.Hours > 0)
        {
            parts.Add($"{duration.Hours}h");
        }

        if (duration.Minutes > 0)
        {
            parts.Add($"{duration.Minutes}m");
        }

        if (duration.Seconds > 0 || parts.Count == 0)
        {
            parts.Add($"{duration.Seconds}s");
        }

        return string.Concat(parts);
    }

    private static string Printable(string text) => new(text.Take(32).Select(c => char.IsControl(c) ? '?' : c).ToArray());

    [GeneratedRegex(@"^(?:(?<d>\d{1,3})d)?(?:(?<h>\d{1,4})h)?(?:(?<m>\d{1,5})m)?(?:(?<s>\d{1,6})s)?$", RegexOptions.CultureInvariant)]
    private static partial Regex DurationPattern();
}
