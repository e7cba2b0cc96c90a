using Renci.SshNet;
using Renci.SshNet.Common;
using Shellbox.Core.Errors;
using Shellbox.Core.Ports;

namespace Shellbox.Ssh;

/// <summary>
/// Runs one command in a box as root with the control key. The box must present one of the expected
/// host keys, else nothing is sent: a box answering with another key is not the box we resumed.
/// </summary>
public static class BoxSsh
{
    /// <param name="expectedHostKeys">The keys ("ssh-ed25519 AAAA...") the box may present; null accepts any (golden build only).</param>
    /// <param name="presentedHostKey">Told the key the box presented.</param>
    public static Task<BoxCommandResult> RunAsync(
        string host,
        int port,
        string controlKeyPath,
        IReadOnlyCollection<string>? expectedHostKeys,
        Action<string>? presentedHostKey,
        string command,
        TimeSpan timeout,
        CancellationToken cancellationToken) =>
        RunAsync(host, port, controlKeyPath, expectedHostKeys, presentedHostKey, () => command, timeout, cancellationToken);

    /// <param name="command">Made once the box has been reached and logged in to: a clock to set is read then, not before the key exchange.</param>
    public static async Task<BoxCommandResult> RunAsync(
        string host,
        int port,
        string controlKeyPath,
        IReadOnlyCollection<string>? expectedHostKeys,
        Action<string>? presentedHostKey,
        Func<string> command,
        TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        string? presented = null;
        var connection = new ConnectionInfo(host, port, "root", new PrivateKeyAuthenticationMethod("root", LoadKey(controlKeyPath)))
        {
            Timeout = timeout,
        };
        KeepCurve25519Only(connection);
        void CheckHostKey(HostKeyEventArgs e)
        {
            presented = $"{e.HostKeyName} {Convert.ToBase64String(e.HostKey)}";
            e.CanTrust = expectedHostKeys is null || expectedHostKeys.Contains(presented);
            presentedHostKey?.Invoke(presented);
        }

        try
        {
            using var client = await ConnectAsync(connection, CheckHostKey, () => presented is not null && expectedHostKeys is not null && !expectedHostKeys.Contains(presented), deadline.Token).ConfigureAwait(false);
            using var ssh = client.CreateCommand(command());
            ssh.CommandTimeout = timeout;
            await ssh.ExecuteAsync(deadline.Token).ConfigureAwait(false);
            return new BoxCommandResult(ssh.ExitStatus ?? -1, ssh.Result, ssh.Error);
        }
        catch (SshConnectionException) when (presented is not null && expectedHostKeys is not null && !expectedHostKeys.Contains(presented))
        {
            throw new ShellboxException(ShellboxErrorKind.Conflict, "HostKeyMismatch", $"The box on {host}:{port} presented a host key other than the one pinned for it; refusing to talk to it.");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw ShellboxException.Service("BoxCommandTimeout", $"The command in the box on {host}:{port} did not finish within {timeout.TotalSeconds:0} s.");
        }
        catch (Exception e) when (e is SshException or System.Net.Sockets.SocketException or ProxyException)
        {
            throw ShellboxException.Service("BoxUnreachable", $"SSH to the box on {host}:{port} failed: {e.Message}", e);
        }
    }

    /// <summary>
    /// Connects, again when the box dropped the connection before its banner or key exchange finished: right
    /// after a resume its dropbear may still count probes queued while it was suspended against its limit of
    /// unauthenticated connections. Nothing has been sent then, so a new attempt is safe; a refused host key
    /// is never retried.
    /// </summary>
    private static async Task<SshClient> ConnectAsync(ConnectionInfo connection, Action<HostKeyEventArgs> checkHostKey, Func<bool> hostKeyRefused, CancellationToken cancellationToken)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        for (var attempt = 1; ; attempt++)
        {
            var client = new SshClient(connection);
            client.HostKeyReceived += (_, e) => checkHostKey(e);
            try
            {
                await client.ConnectAsync(cancellationToken).ConfigureAwait(false);
                return client;
            }
            catch (SshConnectionException) when (attempt < 4 && !hostKeyRefused())
            {
                client.Dispose();
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                delay *= 2;
            }
            catch
            {
                client.Dispose();
                throw;
            }
        }
    }

    /// <summary>
    /// The host key a box presents, read from the key exchange alone: no login, nothing sent. For a host
    /// that holds no private control key (the instance agent's golden build) to check who answers.
    /// </summary>
    public static async Task<string> ReadHostKeyAsync(string host, int port, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        string? presented = null;
        var connection = new ConnectionInfo(host, port, "root", new NoneAuthenticationMethod("root")) { Timeout = timeout };
        KeepCurve25519Only(connection);
        using var client = new SshClient(connection);
        client.HostKeyReceived += (_, e) =>
        {
            presented = $"{e.HostKeyName} {Convert.ToBase64String(e.HostKey)}";
            e.CanTrust = false; // stop right after the key exchange
        };

        try
        {
            await client.ConnectAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SshException or System.Net.Sockets.SocketException or ProxyException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            if (presented is null)
            {
                throw ShellboxException.Service("BoxUnreachable", $"SSH to the box on {host}:{port} failed before it presented a host key: {e.Message}", e);
            }
        }

        return presented ?? throw ShellboxException.Service("BoxUnreachable", $"The box on {host}:{port} presented no host key.");
    }

    /// <summary>
    /// The key exchange SSH.NET would pick first with an OpenSSH box (sntrup761x25519) costs the box about 0.2 s of
    /// emulated CPU per connection; curve25519 a fraction of it. The connection never leaves this host (a loopback
    /// port QEMU forwards), so the post-quantum part buys nothing here. Every box's SSH server has curve25519.
    /// </summary>
    private static void KeepCurve25519Only(ConnectionInfo connection)
    {
        foreach (var name in connection.KeyExchangeAlgorithms.Keys.Where(k => !k.StartsWith("curve25519-sha256", StringComparison.Ordinal)).ToList())
        {
            connection.KeyExchangeAlgorithms.Remove(name);
        }
    }

    private static PrivateKeyFile LoadKey(string path)
    {
        try
        {
            return new PrivateKeyFile(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or SshException)
        {
            throw ShellboxException.Service("ControlKeyUnreadable", $"The control key {path} cannot be read: {e.Message}", e);
        }
    }
}
