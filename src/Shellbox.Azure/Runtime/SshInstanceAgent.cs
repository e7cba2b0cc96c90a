using System.Text;
using Renci.SshNet;
using Renci.SshNet.Common;
using Shellbox.Core.Errors;

namespace Shellbox.Azure.Runtime;

/// <summary>
/// Runs shellbox-agent on an instance over SSH (SSH.NET), logged in as the admin user with the control
/// plane's admin key. The instance must present the host key pinned for it at creation, else nothing is
/// sent: there is no accept-any and no trust on first use. Arguments are single-quoted for the remote
/// shell, so no argument can become shell syntax there.
/// </summary>
public sealed class SshInstanceAgent : IInstanceAgent
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(20);

    private readonly string adminUsername;
    private readonly string adminKeyPath;
    private readonly string agentCommand;

    /// <param name="adminUsername">The instances' admin user (AzureProviderSettings.AdminUsername).</param>
    /// <param name="adminKeyPath">The control plane's private admin key (OpenSSH format) the instances authorize.</param>
    /// <param name="agentCommand">The agent on the instance's PATH.</param>
    public SshInstanceAgent(string adminUsername, string adminKeyPath, string agentCommand = "shellbox-agent")
    {
        ArgumentException.ThrowIfNullOrEmpty(adminUsername);
        ArgumentException.ThrowIfNullOrEmpty(adminKeyPath);
        ArgumentException.ThrowIfNullOrEmpty(agentCommand);
        this.adminUsername = adminUsername;
        this.adminKeyPath = adminKeyPath;
        this.agentCommand = agentCommand;
    }

    public async Task<AgentResult> RunAsync(InstanceAddress instance, IReadOnlyList<string> arguments, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instance);
        ArgumentNullException.ThrowIfNull(arguments);
        var pinned = PinnedKey.Parse(instance.HostKey)
            ?? throw ShellboxException.Service("InstanceHostKeyUnknown", $"The instance at {instance.Host}:{instance.Port} has no pinned host key to check; refusing to talk to it.");

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var connection = new ConnectionInfo(instance.Host, instance.Port, adminUsername, new PrivateKeyAuthenticationMethod(adminUsername, LoadKey()))
        {
            Timeout = timeout < ConnectTimeout ? timeout : ConnectTimeout,
        };

        // Negotiate only the pinned key's algorithm: an instance has several host keys, we know one.
        foreach (var algorithm in connection.HostKeyAlgorithms.Keys.Where(a => !pinned.Signs(a)).ToList())
        {
            connection.HostKeyAlgorithms.Remove(algorithm);
        }

        string? presented = null;
        using var client = new SshClient(connection);
        client.HostKeyReceived += (_, e) =>
        {
            presented = Convert.ToBase64String(e.HostKey);
            e.CanTrust = presented == pinned.Blob;
        };

        try
        {
            await client.ConnectAsync(deadline.Token).ConfigureAwait(false);
            using var command = client.CreateCommand(CommandLine(arguments));
            command.CommandTimeout = timeout;
            await command.ExecuteAsync(deadline.Token).ConfigureAwait(false);
            return new AgentResult(command.ExitStatus ?? -1, command.Result, command.Error);
        }
        catch (SshConnectionException) when (presented is not null && presented != pinned.Blob)
        {
            throw new ShellboxException(ShellboxErrorKind.Conflict, "InstanceHostKeyMismatch", $"The instance at {instance.Host}:{instance.Port} presented a host key other than the one pinned for it at creation; refusing to talk to it.");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw ShellboxException.Service("AgentTimeout", $"shellbox-agent {arguments.FirstOrDefault()} on the instance at {instance.Host}:{instance.Port} did not finish within {timeout.TotalSeconds:0} s.");
        }
        catch (Exception e) when (e is SshException or System.Net.Sockets.SocketException or ProxyException)
        {
            throw ShellboxException.Service("InstanceUnreachable", $"SSH to the instance at {instance.Host}:{instance.Port} failed: {e.Message}", e);
        }
    }

    /// <summary>The remote command line: the agent and each argument single-quoted for the login shell.</summary>
    internal string CommandLine(IReadOnlyList<string> arguments)
    {
        var line = new StringBuilder(agentCommand);
        foreach (var argument in arguments)
        {
            line.Append(' ').Append(ShellQuote(argument));
        }

        return line.ToString();
    }

    /// <summary>'...' with every ' written as '\'': the shell takes the content literally, whatever it is.</summary>
    internal static string ShellQuote(string value) => "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    private PrivateKeyFile LoadKey()
    {
        try
        {
            return new PrivateKeyFile(adminKeyPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or SshException)
        {
            throw ShellboxException.Service("AdminKeyUnreadable", $"The admin key {adminKeyPath} cannot be read: {e.Message}", e);
        }
    }

    /// <summary>A pinned OpenSSH public key: its type and base64 blob (a trailing comment is ignored).</summary>
    private sealed record PinnedKey(string Type, string Blob)
    {
        public static PinnedKey? Parse(string? openSsh) =>
            openSsh?.Split(' ', StringSplitOptions.RemoveEmptyEntries) is [var type, var blob, ..] ? new PinnedKey(type, blob) : null;

        // An RSA key signs with rsa-sha2-256/512 as well as ssh-rsa; every other type with its own name.
        public bool Signs(string algorithm) => algorithm == Type || (Type == "ssh-rsa" && algorithm.StartsWith("rsa-sha2-", StringComparison.Ordinal));
    }
}
