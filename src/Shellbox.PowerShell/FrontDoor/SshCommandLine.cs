using System.Text.RegularExpressions;

namespace Shellbox.PowerShell.FrontDoor;

/// <summary>
/// What a user typed after `ssh HOST` (sshd's SSH_ORIGINAL_COMMAND), split into a verb, a box name and the rest, and
/// checked strictly: anything that is not one of the verbs with its arguments is one line and exit 2. User text is
/// never handed to a shell on the bastion; the rest of a `connect NAME ...` line runs in the user's own box.
/// </summary>
internal sealed partial record SshCommandLine(string Verb, string Name, string Rest)
{
    public const int MaxLength = 4096;

    public const string Usage = """
        usage: ssh HOST COMMAND
          connect NAME [COMMAND...]  connect to box NAME (created if new); with COMMAND, run it there
          spinup NAME                create box NAME without connecting
          remove NAME                delete box NAME, its files and its saved state, for good
          duplicate NAME NEW         copy box NAME (disk, RAM, running programs) into a new box NEW
          keepalive NAME DURATION    keep NAME running up to DURATION (30m, 2h) after you leave; off: suspend at once
          list [--json]              your boxes
          info NAME [--json]         state, created, last used, disk used, keepalive, how its RAM state is kept
          whoami                     your user id
          help                       this text
          NAME: 1 to 32 characters: lower-case letters, digits and '-', starting with a letter
        """;

    /// <summary>The checks that come before anything is read, even the user's key: length and control characters.</summary>
    public static SshCommandRefusal? CheckRaw(string command) =>
        command.Length > MaxLength ? new($"the command is too long (at most {MaxLength} characters).", 2)
        : ControlCharacters().IsMatch(command) ? new("the command contains control characters.", 2)
        : null;

    /// <summary>The command split and checked; a refusal is the one line (without "shellbox: ") and exit code to give.</summary>
    public static (SshCommandLine? Line, SshCommandRefusal? Refusal) Parse(string command)
    {
        var match = Words().Match(command);
        var line = new SshCommandLine(match.Success ? match.Groups["verb"].Value : "", match.Groups["name"].Value, match.Groups["rest"].Value);
        return line.Check() is { } refusal ? (null, refusal) : (line, null);
    }

    private SshCommandRefusal? Check() => Verb switch
    {
        "" => null, // the usage text, as it is, on stderr: the caller's
        "help" when Name != "" => new("help takes no arguments.", 2),
        "whoami" when Name != "" => new("whoami takes no arguments.", 2),
        "help" or "whoami" => null,
        "list" => (Name != "" && Name != "--json") || Rest != "" ? new("list takes no arguments but --json.", 2) : null,
        "remove" or "duplicate" or "keepalive" or "info" or "spinup" or "connect" when Name == "" => new($"{Verb} needs a box name; try: ssh HOST help", 2),
        "remove" => BoxName(Name) ?? (Rest != "" ? new("remove takes one box name.", 2) : null),
        "duplicate" => BoxName(Name)
            ?? (Rest == "" ? new("duplicate takes a box name and the name of the copy: duplicate NAME NEW.", 2) : BoxName(Rest, "name for the copy", 40)),
        "keepalive" => BoxName(Name)
            ?? (!KeepaliveArgument().IsMatch(Rest) ? new("keepalive takes a box name and a duration such as 30m, 2h or 1h30m, or off.", 2) : null),
        "info" => BoxName(Name) ?? (Rest != "" && Rest != "--json" ? new("info takes one box name and --json.", 2) : null),
        "spinup" => BoxName(Name) ?? (Rest != "" ? new("spinup takes one box name.", 2) : null),
        "connect" => BoxName(Name),
        _ => new($"unknown command '{Verb[..Math.Min(32, Verb.Length)]}'; try: ssh HOST help", 2),
    };

    /// <summary>One line unless VALUE is a box name; SHOW caps how much of a long value the line repeats.</summary>
    private static SshCommandRefusal? BoxName(string value, string label = "box name", int show = int.MaxValue) =>
        BoxNamePattern().IsMatch(value)
            ? null
            : new($"'{value[..Math.Min(show, value.Length)]}' is not a valid {label}: 1 to 32 characters: lower-case letters, digits and '-', starting with a letter.", 2);

    [GeneratedRegex(@"[\x00-\x08\x0a-\x1f\x7f]")]
    private static partial Regex ControlCharacters();

    // verb, name, and (for connect) the rest of the line verbatim as the in-box command
    [GeneratedRegex(@"^\s*(?<verb>\S+)(?:\s+(?<name>\S+))?(?:\s+(?<rest>.*\S))?\s*$")]
    private static partial Regex Words();

    [GeneratedRegex("^[a-z][a-z0-9-]{0,31}$")]
    private static partial Regex BoxNamePattern();

    [GeneratedRegex("^(off|[0-9dhms]{1,24})$")]
    private static partial Regex KeepaliveArgument();
}

/// <summary>The one line a refused command gets (without the "shellbox: " prefix), and its exit code.</summary>
internal sealed record SshCommandRefusal(string Message, int ExitCode);
