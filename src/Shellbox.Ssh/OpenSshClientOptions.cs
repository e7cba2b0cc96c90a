using System.Globalization;

namespace Shellbox.Ssh;

/// <summary>
/// What every OpenSSH client into a box runs with, the user's session and the control master alike: one place, so the
/// two cannot drift apart (the master must reach the box exactly as the sessions that ride it would).
/// </summary>
public static class OpenSshClientOptions
{
    /// <summary>
    /// The user a session lands as: every guest build-golden.sh makes has it (on the Debian guest with passwordless
    /// sudo and a bash login shell in /home/dev); the control plane's own steps log in as root.
    /// </summary>
    public const string LoginUser = "dev";

    /// <summary>The options to reach a box on PORT with the control key, pinned to the host key in KNOWNHOSTSFILE.</summary>
    public static string[] ToBox(string controlKeyPath, int port, string knownHostsFile) =>
    [
        // No user config and no forwarding: on the bastion a forwarding would reach other boxes.
        "-F", "/dev/null", "-o", "ClearAllForwardings=yes", "-o", "ForwardAgent=no", "-o", "PermitLocalCommand=no",
        "-i", controlKeyPath, "-p", port.ToString(CultureInfo.InvariantCulture),
        "-o", $"UserKnownHostsFile={knownHostsFile}", "-o", "StrictHostKeyChecking=yes", "-o", "IdentitiesOnly=yes",
        "-o", "GlobalKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
        // curve25519 rather than OpenSSH's first choice sntrup761x25519: the box computes the key exchange on emulated
        // CPU, where sntrup761 costs it about 0.3 s per session; the connection never leaves this host.
        "-o", "KexAlgorithms=curve25519-sha256,curve25519-sha256@libssh.org",
    ];
}
