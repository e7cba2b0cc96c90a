using System.Globalization;
using System.Security.Cryptography;
using Shellbox.Core.Errors;

namespace Shellbox.Ssh;

/// <summary>
/// What a box needs from the control plane once QEMU runs it and it answers SSH, done with the control key
/// (so only where that key lives: in-process on Local, in the control plane on Azure, never on an
/// instance): at its first resume, its own host key and fresh entropy, since every clone starts with the
/// golden's; every time, its clock, which stood still while it was suspended.
/// </summary>
public static class BoxGuest
{
    private static readonly TimeSpan GuestCommandTimeout = TimeSpan.FromSeconds(30);

    /// <param name="box">Where the box answers SSH and how to log in.</param>
    /// <param name="keys">The host key pinned for the box (null before its first resume) and the golden's, which a clone presents until then.</param>
    /// <param name="pinAsync">Records the box's new host key with its volume; called once, after the rekey.</param>
    /// <returns>The box's host key ("ssh-ed25519 AAAA..."), now pinned.</returns>
    public static async Task<string> AfterStartAsync(BoxLogin box, BoxHostKeys keys, Func<string, CancellationToken, Task> pinAsync, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(box);
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(pinAsync);
        var setClock = $"date -s @{now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)} >/dev/null";
        if (keys.Pinned is { } pinned)
        {
            var clock = await BoxSsh.RunAsync(box.Host, box.Port, box.ControlKeyPath, [pinned], null, setClock, GuestCommandTimeout, cancellationToken).ConfigureAwait(false);
            return clock.ExitCode == 0
                ? pinned
                : throw ShellboxException.Service("ClockNotSet", $"The box of volume '{box.VolumeId}' refused to set its clock: {clock.StdErr.Trim()}");
        }

        var seed = Convert.ToHexString(RandomNumberGenerator.GetBytes(32)).ToLowerInvariant();
        var rekey = await BoxSsh.RunAsync(box.Host, box.Port, box.ControlKeyPath, [keys.Golden], null, $"{setClock}; /sbin/shellbox-rekey {seed}", GuestCommandTimeout, cancellationToken).ConfigureAwait(false);
        var hostKey = rekey.ExitCode == 0 ? HostKeys.FindEd25519(rekey.StdOut) : null;
        if (hostKey is null || hostKey == keys.Golden)
        {
            throw ShellboxException.Service("RekeyFailed", $"The box of volume '{box.VolumeId}' could not make its own host key (exit {rekey.ExitCode}): {rekey.StdErr.Trim()}");
        }

        await pinAsync(hostKey, cancellationToken).ConfigureAwait(false);
        return hostKey;
    }
}

/// <summary>A started box's SSH server and the control key that logs in to it as root.</summary>
public sealed record BoxLogin(string VolumeId, string Host, int Port, string ControlKeyPath);

/// <summary>The host key pinned for a box (null until its first resume) and the golden's ("ssh-ed25519 AAAA...").</summary>
public sealed record BoxHostKeys(string? Pinned, string Golden);
