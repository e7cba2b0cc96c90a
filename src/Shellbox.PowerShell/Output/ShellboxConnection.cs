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

    /// <summary>The user a session lands as (<see cref="Shellbox.Ssh.OpenSshClientOptions.LoginUser"/>).</summary>
    public const string LoginUser = Shellbox.Ssh.OpenSshClientOptions.LoginUser;

    /// <summary>The arguments for an ssh client to reach the box as its login user with the control key.</summary>
    public string[] SshArguments =>
    [
        // No escape character: on the bastion the client runs with the user's terminal, and ~C would reach other boxes.
        "-e", "none",
        .. Shellbox.Ssh.OpenSshClientOptions.ToBox(ControlKeyPath, Port, KnownHostsFile),
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
