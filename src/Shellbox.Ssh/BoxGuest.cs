using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Shellbox.Core.Errors;

namespace Shellbox.Ssh;

/// <summary>
/// What a box needs from the control plane once QEMU runs it and it answers SSH, done with the control key
/// (so only where that key lives: in-process on Local, in the control plane on Azure, never on an
/// instance): at its first resume, its own host key, machine-id and fresh entropy, since every clone starts
/// with the golden's; every time, its clock, which stood still while it was suspended; and once it has a
/// name, that name as its hostname.
/// </summary>
public static partial class BoxGuest
{
    private static readonly TimeSpan GuestCommandTimeout = TimeSpan.FromSeconds(30);

    /// <param name="box">Where the box answers SSH and how to log in.</param>
    /// <param name="keys">The host key pinned for the box (null before its first resume) and the golden's, which a clone presents until then.</param>
    /// <param name="pinAsync">Records the box's new host key with its volume; called once, after the rekey.</param>
    /// <returns>The box's host key ("ssh-ed25519 AAAA..."), now pinned.</returns>
    public static Task<string> AfterStartAsync(BoxLogin box, BoxHostKeys keys, Func<string, CancellationToken, Task> pinAsync, DateTimeOffset now, CancellationToken cancellationToken) =>
        AfterStartAsync(box, keys, pinAsync, () => now, cancellationToken);

    /// <param name="now">Read once the box has been logged in to: a key exchange with a just-resumed box takes a while.</param>
    public static async Task<string> AfterStartAsync(BoxLogin box, BoxHostKeys keys, Func<string, CancellationToken, Task> pinAsync, Func<DateTimeOffset> now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(box);
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(pinAsync);
        ArgumentNullException.ThrowIfNull(now);
        string SetClock() => $"date -s @{now().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)} >/dev/null";
        var name = Hostname(box.BoxName);
        if (keys.Pinned is { } pinned)
        {
            var clock = await BoxSsh.RunAsync(box.Host, box.Port, box.ControlKeyPath, [pinned], null, () => name is null ? SetClock() : $"{SetClock()}; {SetHostname(name)}", GuestCommandTimeout, cancellationToken).ConfigureAwait(false);
            return clock.ExitCode == 0
                ? pinned
                : throw ShellboxException.Service("ClockNotSet", $"The box of volume '{box.VolumeId}' refused to set its clock: {clock.StdErr.Trim()}");
        }

        var seed = Convert.ToHexString(RandomNumberGenerator.GetBytes(32)).ToLowerInvariant();
        var rekey = await BoxSsh.RunAsync(box.Host, box.Port, box.ControlKeyPath, [keys.Golden], null, () => $"{SetClock()}; /sbin/shellbox-rekey {seed} {name}", GuestCommandTimeout, cancellationToken).ConfigureAwait(false);
        var hostKey = rekey.ExitCode == 0 ? HostKeys.FindEd25519(rekey.StdOut) : null;
        if (hostKey is null || hostKey == keys.Golden)
        {
            throw ShellboxException.Service("RekeyFailed", $"The box of volume '{box.VolumeId}' could not make its own host key (exit {rekey.ExitCode}): {rekey.StdErr.Trim()}");
        }

        await pinAsync(hostKey, cancellationToken).ConfigureAwait(false);
        return hostKey;
    }

    /// <summary>
    /// Gives a box that is already running (a ready pair's, just claimed) its name as hostname: one command
    /// over SSH. False when the name cannot be a hostname, so nothing was sent.
    /// </summary>
    public static async Task<bool> SetHostnameAsync(BoxLogin box, string pinnedHostKey, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(box);
        if (Hostname(box.BoxName) is not { } name)
        {
            return false;
        }

        var result = await BoxSsh.RunAsync(box.Host, box.Port, box.ControlKeyPath, [pinnedHostKey], null, SetHostname(name), GuestCommandTimeout, cancellationToken).ConfigureAwait(false);
        return result.ExitCode == 0
            ? true
            : throw ShellboxException.Service("HostnameNotSet", $"The box of volume '{box.VolumeId}' refused to take its name as hostname: {result.StdErr.Trim()}");
    }

    /// <summary>The hostname a box of that name takes; null when the name cannot be one (it is then never put on a command line).</summary>
    public static string? HostnameFor(string? boxName) => Hostname(boxName);

    // A box name is already a valid hostname label; anything else is never put on a command line.
    private static string? Hostname(string? boxName) => boxName is not null && HostnameLabel().IsMatch(boxName) ? boxName : null;

    // Guests built before shellbox-hostname existed keep their hostname rather than fail the resume.
    private static string SetHostname(string name) => $"if [ -x /sbin/shellbox-hostname ]; then /sbin/shellbox-hostname {name}; fi";

    [GeneratedRegex("^[a-z][a-z0-9-]{0,62}$")]
    private static partial Regex HostnameLabel();
}

/// <summary>A started box's SSH server, the control key that logs in to it as root, and its name once it has one (its hostname).</summary>
public sealed record BoxLogin(string VolumeId, string Host, int Port, string ControlKeyPath, string? BoxName = null);

/// <summary>The host key pinned for a box (null until its first resume) and the golden's ("ssh-ed25519 AAAA...").</summary>
public sealed record BoxHostKeys(string? Pinned, string Golden);
