using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Shellbox.PowerShell.Hosting;
using Shellbox.PowerShell.Output;

namespace Shellbox.PowerShell.FrontDoor;

/// <summary>
/// The bastion's resident front door: the ssh wrapper hands each `ssh HOST COMMAND` to it over a Unix socket instead of
/// starting the module in every login (about 0.3 s of import and engine set-up per login). The engine, its store and
/// the open sessions' heartbeats live here; a connect's session is released after the wrapper has exited, so the user
/// does not wait for the suspend. Only the account that runs it may connect (the socket is 0600 and the peer's uid is
/// checked): a client names any user by key, as the wrapper, which sshd runs as that account, does.
/// </summary>
internal sealed class FrontDoorServer(string stateDirectory, string socketPath, Action<string> log)
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(10);

    private readonly List<Task> clients = [];

    /// <summary>The socket a front door for STATEDIRECTORY listens on unless told otherwise; the wrapper looks there.</summary>
    public static string DefaultSocketPath(string stateDirectory) => Path.Combine(stateDirectory, "frontdoor.sock");

    /// <summary>
    /// Serves until <paramref name="stop"/>; then takes no new request, removes the socket (wrappers run in their own
    /// process again) and waits up to <paramref name="drain"/> for open sessions to end. Sessions still open after that
    /// are left to their leases: reconcile reclaims them once their heartbeats, which end with this process, expire.
    /// </summary>
    public async Task RunAsync(TimeSpan drain, CancellationToken stop)
    {
        using var listener = Bind();
        log($"front door: listening on {socketPath}");
        using var abandon = new CancellationTokenSource();
        try
        {
            while (true)
            {
                Socket client;
                try
                {
                    client = await listener.AcceptAsync(stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    break;
                }

                lock (clients)
                {
                    clients.RemoveAll(t => t.IsCompleted);
                    clients.Add(Task.Run(() => ServeAsync(client, abandon.Token), CancellationToken.None));
                }
            }
        }
        finally
        {
            listener.Close();
            File.Delete(socketPath);
        }

        Task[] open;
        lock (clients)
        {
            open = clients.Where(t => !t.IsCompleted).ToArray();
        }

        log($"front door: stopped listening; waiting up to {drain.TotalSeconds:0} s for {open.Length} open request(s) and session(s)");
        var all = Task.WhenAll(open);
        if (await Task.WhenAny(all, Task.Delay(drain, CancellationToken.None)).ConfigureAwait(false) != all)
        {
            log("front door: sessions still open are left to their leases");
        }

        abandon.Cancel();
    }

    /// <summary>
    /// Binds under a temporary name, makes it 0600, then renames it into place: no client ever finds the socket open
    /// to others. A live front door on the same path is not displaced; a stale socket (its process died) is.
    /// </summary>
    private Socket Bind()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(socketPath))!);
        if (File.Exists(socketPath))
        {
            using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                probe.Connect(new UnixDomainSocketEndPoint(socketPath));
                throw Core.Errors.ShellboxException.User("FrontDoorRunning", $"Another front door already listens on {socketPath}; stop it first.");
            }
            catch (SocketException)
            {
                File.Delete(socketPath); // left by a front door that died
            }
        }

        var temporary = $"{socketPath}.{Environment.ProcessId}";
        File.Delete(temporary);
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            listener.Bind(new UnixDomainSocketEndPoint(temporary));
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            listener.Listen(512);
            File.Move(temporary, socketPath, overwrite: true);
            return listener;
        }
        catch
        {
            listener.Dispose();
            File.Delete(temporary);
            throw;
        }
    }

    private async Task ServeAsync(Socket socket, CancellationToken abandon)
    {
        var clock = Stopwatch.StartNew();
        using var _ = socket;
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        var output = new SocketOutput(stream);
        if (PeerCredentials.UserId(socket) != PeerCredentials.OwnUserId())
        {
            log("front door: refused a client of another account");
            output.Err("shellbox: the bastion's front door serves only the account it runs as; tell the operator.");
            output.Line(FrontDoorProtocol.Exit(1));
            return;
        }

        FrontDoorRequest? request;
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(abandon))
        {
            timeout.CancelAfter(RequestTimeout);
            try
            {
                request = JsonSerializer.Deserialize<FrontDoorRequest>(await ReadLineAsync(stream, timeout.Token).ConfigureAwait(false) ?? "", FrontDoorProtocol.Json);
            }
            catch (Exception e) when (e is JsonException or IOException or OperationCanceledException or InvalidDataException)
            {
                log($"front door: refused a request that could not be read ({e.GetType().Name})");
                output.Line(FrontDoorProtocol.Err("shellbox: the bastion could not read the request; try again, or tell the operator."));
                output.Line(FrontDoorProtocol.Exit(1));
                return;
            }
        }

        if (request is not { Key: not null, Command: not null })
        {
            output.Line(FrontDoorProtocol.Exit(1));
            return;
        }

        var verb = VerbOf(request.Command);
        SshCommandOutcome outcome;
        try
        {
            var engine = EngineCache.Get(stateDirectory);
            outcome = await new SshCommandHandler(engine, output).RunAsync(request.Key, request.Command, abandon).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Settings that cannot be used (the handler answers everything else): one line, as the wrapper would.
            output.Err($"shellbox: the bastion cannot read its state ({e.GetType().Name} at {DateTime.UtcNow:u}); try again, or tell the operator.");
            outcome = new(1);
        }

        if (outcome.Session is not { } session)
        {
            output.Line(FrontDoorProtocol.Exit(outcome.ExitCode));
            log($"front door: {verb} exit={outcome.ExitCode} ms={clock.ElapsedMilliseconds}");
            return;
        }

        log($"front door: connect {session.Connection.Trace} ms={clock.ElapsedMilliseconds}");
        string ended;
        try
        {
            output.Line(FrontDoorProtocol.Ssh(SshTerminal.Arguments(new ShellboxConnection(session.Connection, session.KnownHostsFile), outcome.BoxCommand, request.Interactive)));

            // The session lasts until the wrapper says how ssh ended, or its socket closes (it died, or sshd killed it).
            ended = await ReadLineAsync(stream, abandon).ConfigureAwait(false) is { } line ? line : "closed";
        }
        catch (Exception e) when (e is IOException or SocketException or InvalidDataException)
        {
            ended = "closed";
        }
        catch (OperationCanceledException)
        {
            return; // the front door is stopping past its drain: the session's lease takes over
        }
        finally
        {
            socket.Close(); // the wrapper exits now; the release below is the front door's alone
        }

        try
        {
            log($"front door: session={session.Connection.SessionId} ended ({ended}); {await OpenSessions.CloseAsync(session, CancellationToken.None).ConfigureAwait(false)}");
        }
        catch (Exception e)
        {
            // Reconcile repairs a release that failed half-way (its mark expires); the error is for the operator.
            log($"front door: session={session.Connection.SessionId} release failed: {e.GetType().Name}: {e.Message}");
        }
    }

    /// <summary>One line of at most <see cref="FrontDoorProtocol.MaxRequestLength"/> bytes; null at the end of the stream.</summary>
    private static async Task<string?> ReadLineAsync(Stream stream, CancellationToken cancellationToken)
    {
        var buffer = new MemoryStream();
        var one = new byte[1];
        while (await stream.ReadAsync(one, cancellationToken).ConfigureAwait(false) == 1)
        {
            if (one[0] == (byte)'\n')
            {
                return Utf8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
            }

            if (buffer.Length >= FrontDoorProtocol.MaxRequestLength)
            {
                throw new InvalidDataException("The line is too long.");
            }

            buffer.WriteByte(one[0]);
        }

        return buffer.Length == 0 ? null : Utf8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static string VerbOf(string command)
    {
        var first = command.TrimStart().Split(' ', 2)[0];
        return first.Length > 0 && first.Length <= 16 && first.All(c => c is >= 'a' and <= 'z') ? first : "(other)";
    }

    /// <summary>Lines to the client, whole and in order whichever thread writes them; a client gone is not an error here.</summary>
    private sealed class SocketOutput(Stream stream) : ISshCommandOutput
    {
        public void Out(string line) => Line(FrontDoorProtocol.Out(line));

        public void Err(string line) => Line(FrontDoorProtocol.Err(line));

        public void Line(string json)
        {
            var bytes = Utf8.GetBytes(json + "\n");
            lock (this)
            {
                try
                {
                    stream.Write(bytes);
                }
                catch (Exception e) when (e is IOException or ObjectDisposedException)
                {
                    // The wrapper is gone; the session (if any) is released when its read ends.
                }
            }
        }
    }
}
