using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace Shellbox.Local.Qmp;

/// <summary>
/// A client of QEMU's machine protocol on a unix socket: one JSON object per line, a greeting, then
/// <c>qmp_capabilities</c>. Commands carry an id, so replies are matched even with events in between;
/// events go to <see cref="Events"/> (the oldest are dropped when nobody reads them). Thread-safe.
/// </summary>
public sealed class QmpClient : IAsyncDisposable
{
    private readonly Socket socket;
    private readonly NetworkStream stream;
    private readonly StreamReader reader;
    private readonly SemaphoreSlim writeLock = new(1, 1);
    private readonly ConcurrentDictionary<long, TaskCompletionSource<JsonElement>> pending = new();
    private readonly Channel<QmpEvent> events = Channel.CreateBounded<QmpEvent>(new BoundedChannelOptions(256) { FullMode = BoundedChannelFullMode.DropOldest });
    private readonly CancellationTokenSource closing = new();
    private Task readLoop = Task.CompletedTask;
    private long nextId;
    private int disposed;

    private QmpClient(Socket socket)
    {
        this.socket = socket;
        stream = new NetworkStream(socket, ownsSocket: false);
        reader = new StreamReader(stream, new UTF8Encoding(false));
    }

    /// <summary>The server's greeting (QEMU version and capabilities).</summary>
    public JsonElement Greeting { get; private set; }

    /// <summary>Asynchronous events (STOP, RESUME, MIGRATION, SHUTDOWN ...) in arrival order.</summary>
    public ChannelReader<QmpEvent> Events => events.Reader;

    /// <summary>Completes when the connection ends (QEMU quit or died, or this client was disposed).</summary>
    public Task Closed => readLoop;

    /// <summary>Connects, reads the greeting and leaves capability negotiation mode.</summary>
    public static async Task<QmpClient> ConnectAsync(string socketPath, CancellationToken cancellationToken = default)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        QmpClient? client = null;
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken).ConfigureAwait(false);
            client = new QmpClient(socket);
            var greeting = await client.reader.ReadLineAsync(cancellationToken).ConfigureAwait(false)
                ?? throw new QmpException("greeting", "ConnectionClosed", "QEMU closed the QMP connection before its greeting.");
            using (var document = JsonDocument.Parse(greeting))
            {
                if (!document.RootElement.TryGetProperty("QMP", out var qmp))
                {
                    throw new QmpException("greeting", "ProtocolError", $"QMP greeting expected, got: {Truncate(greeting)}");
                }

                client.Greeting = qmp.Clone();
            }

            client.readLoop = Task.Run(client.ReadLoopAsync, CancellationToken.None);
            await client.ExecuteAsync("qmp_capabilities", null, cancellationToken).ConfigureAwait(false);
            return client;
        }
        catch
        {
            if (client is not null)
            {
                await client.DisposeAsync().ConfigureAwait(false);
            }
            else
            {
                socket.Dispose();
            }

            throw;
        }
    }

    /// <summary>
    /// Runs one command and returns its "return" value; a QMP error becomes a <see cref="QmpException"/>
    /// carrying QEMU's description. Cancelling abandons the wait, not the command inside QEMU.
    /// </summary>
    public async Task<JsonElement> ExecuteAsync(string command, object? arguments = null, CancellationToken cancellationToken = default)
    {
        var id = Interlocked.Increment(ref nextId);
        var reply = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        pending[id] = reply;
        try
        {
            var request = new Dictionary<string, object?> { ["execute"] = command, ["id"] = id };
            if (arguments is not null)
            {
                request["arguments"] = arguments;
            }

            var line = JsonSerializer.SerializeToUtf8Bytes(request);
            await writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (readLoop.IsCompleted)
                {
                    throw ClosedError(command);
                }

                await stream.WriteAsync(line, cancellationToken).ConfigureAwait(false);
                await stream.WriteAsync("\n"u8.ToArray(), cancellationToken).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                throw new QmpException(command, "ConnectionClosed", $"QMP command '{command}' could not be sent: {e.Message}");
            }
            finally
            {
                writeLock.Release();
            }

            var response = await reply.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (response.TryGetProperty("error", out var error))
            {
                var errorClass = error.TryGetProperty("class", out var c) ? c.GetString() ?? "" : "";
                var desc = error.TryGetProperty("desc", out var d) ? d.GetString() ?? "" : response.GetRawText();
                throw new QmpException(command, errorClass, desc);
            }

            return response.TryGetProperty("return", out var result) ? result : default;
        }
        finally
        {
            pending.TryRemove(id, out _);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 1)
        {
            return;
        }

        closing.Cancel();
        try
        {
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // already closed by the peer
        }

        socket.Dispose();
        try
        {
            await readLoop.ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // the loop ends with the socket; its errors were handed to the waiting commands
            Core.Observability.ShellboxLog.Dropped("Shellbox.Local.Qmp", "qmp read loop ended", e, routine: true);
        }

        reader.Dispose();
        stream.Dispose();
        writeLock.Dispose();
        closing.Dispose();
    }

    private async Task ReadLoopAsync()
    {
        try
        {
            while (await reader.ReadLineAsync(closing.Token).ConfigureAwait(false) is { } line)
            {
                if (line.Length == 0)
                {
                    continue;
                }

                using var document = JsonDocument.Parse(line);
                var root = document.RootElement;
                if (root.TryGetProperty("event", out var name))
                {
                    events.Writer.TryWrite(new QmpEvent(
                        name.GetString() ?? "",
                        root.TryGetProperty("data", out var data) ? data.Clone() : default,
                        ParseTimestamp(root)));
                }
                else if (root.TryGetProperty("id", out var idElement) && idElement.TryGetInt64(out var id) && pending.TryGetValue(id, out var waiter))
                {
                    waiter.TrySetResult(root.Clone());
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException or JsonException)
        {
            // the connection ended; fall through and fail whoever still waits
        }
        finally
        {
            events.Writer.TryComplete();
            foreach (var waiter in pending.Values)
            {
                waiter.TrySetException(ClosedError("(pending)"));
            }
        }
    }

    private static QmpException ClosedError(string command) =>
        new(command, "ConnectionClosed", "QEMU closed the QMP connection (it quit or died).");

    private static DateTimeOffset? ParseTimestamp(JsonElement root) =>
        root.TryGetProperty("timestamp", out var t)
        && t.TryGetProperty("seconds", out var s) && s.TryGetInt64(out var seconds)
        && t.TryGetProperty("microseconds", out var u) && u.TryGetInt64(out var micros)
            ? DateTimeOffset.FromUnixTimeSeconds(seconds).AddTicks(micros * 10)
            : null;

    private static string Truncate(string text) => text.Length <= 200 ? text : text[..200] + "...";
}

/// <summary>An asynchronous QMP event, e.g. STOP or MIGRATION with its data.</summary>
public sealed record QmpEvent(string Name, JsonElement Data, DateTimeOffset? Timestamp);
