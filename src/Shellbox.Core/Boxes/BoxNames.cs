using System.Text.RegularExpressions;
using Shellbox.Core.Errors;

namespace Shellbox.Core.Boxes;

/// <summary>What a box name and a user id may be: strict, so they are safe in paths, tags and log lines.</summary>
public static partial class BoxNames
{
    public const string Rule = "1 to 32 characters: lower-case letters, digits and '-', starting with a letter";

    public static string Validate(string? name) =>
        name is not null && NamePattern().IsMatch(name)
            ? name
            : throw ShellboxException.User("BoxNameInvalid", $"'{Printable(name)}' is not a valid box name: {Rule}.");

    public static string ValidateUser(string? userId) =>
        userId is not null && UserPattern().IsMatch(userId)
            ? userId
            : throw ShellboxException.User("UserIdInvalid", $"'{Printable(userId)}' is not a valid user id: 1 to 64 characters of lower-case letters, digits, '-' and '_'.");

    private static string Printable(string? text) =>
        text is null ? "" : new string(text.Take(40).Select(c => char.IsControl(c) ? '?' : c).ToArray());

    [GeneratedRegex("^[a-z][a-z0-9-]{0,31}$", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex UserPattern();
}
