using Shellbox.Core.Boxes;
using Shellbox.Local.Ssh;

namespace Shellbox.PowerShell.Output;

/// <summary>An open session of a box (Connect-ShellboxBox -PassThru): where its SSH answers and how the connect went.</summary>
public sealed class ShellboxConnection
{
    internal ShellboxConnection(BoxConnection connection, string knownHostsFile)
    {
        UserId = connection.Box.UserId;
        Name = connection.Box.BoxName;
        SessionId = connection.SessionId;
        Host = connection.Endpoint.Host;
        Port = connection.Endpoint.Port;
        HostKey = connection.Endpoint.HostKey;
        KnownHostsFile = knownHostsFile;
        ControlKeyPath = connection.Endpoint.ControlKeyPath;
        Created = connection.Created;
        Path = connection.Trace.Path;
        ColdBooted = connection.Trace.ColdBooted;
        CorrelationId = connection.Trace.CorrelationId;
        Steps = connection.Trace.Steps.ToDictionary(s => s.Name, s => s.Duration.TotalMilliseconds);
        TotalMilliseconds = connection.Trace.Total.TotalMilliseconds;
    }

    public string UserId { get; }

    public string Name { get; }

    public string SessionId { get; }

    public string Host { get; }

    public int Port { get; }

    /// <summary>The box's pinned host key, known_hosts form.</summary>
    public string HostKey { get; }

    public string KnownHostsFile { get; }

    public string ControlKeyPath { get; }

    /// <summary>True when this connect created the box.</summary>
    public bool Created { get; }

    /// <summary>new-from-ready-pair, new-with-attach, returning, lingering or joining.</summary>
    public string Path { get; }

    /// <summary>True when the box had lost its saved state and was booted fresh from its disk.</summary>
    public bool ColdBooted { get; }

    public string CorrelationId { get; }

    /// <summary>Milliseconds per connect step (claim, attach, resume).</summary>
    public IReadOnlyDictionary<string, double> Steps { get; }

    public double TotalMilliseconds { get; }

    /// <summary>
    /// The user a session lands as: every guest build-golden.sh makes has it (on the Debian guest with passwordless
    /// sudo and a bash login shell in /home/dev); the control plane's own steps log in as root.
    /// </summary>
    public const string LoginUser = "dev";

    /// <summary>The arguments for an ssh client to reach the box as its login user with the control key.</summary>
    public string[] SshArguments =>
    [
        // No user config, no escape character, no forwarding: on the bastion the client runs with the
        // user's terminal, and ~C or a forwarding would reach other boxes from there.
        "-F", "/dev/null", "-e", "none", "-o", "ClearAllForwardings=yes", "-o", "ForwardAgent=no", "-o", "PermitLocalCommand=no",
        "-i", ControlKeyPath, "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "-o", $"UserKnownHostsFile={KnownHostsFile}", "-o", "StrictHostKeyChecking=yes", "-o", "IdentitiesOnly=yes",
        "-o", "LogLevel=ERROR", "-o", "GlobalKnownHostsFile=/dev/null",
        // curve25519 rather than OpenSSH's first choice sntrup761x25519: the box computes the key exchange on emulated
        // CPU, where sntrup761 costs it about 0.3 s per session; the connection never leaves this host (a loopback port).
        "-o", "KexAlgorithms=curve25519-sha256,curve25519-sha256@libssh.org",
        .. MasterArguments(),
        $"{LoginUser}@{Host}",
    ];

    /// <summary>
    /// Rides the box's control master when it has one (Local provider): no key exchange, no login. ControlMaster=no:
    /// a session never becomes a master itself; when the socket does not answer, ssh connects directly.
    /// </summary>
    private string[] MasterArguments() =>
        BoxControlMaster.SocketPath(ControlKeyPath, HostKey) is { } socket && File.Exists(socket)
            ? ["-o", $"ControlPath={socket}", "-o", "ControlMaster=no"]
            : [];
}
