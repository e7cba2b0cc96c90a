using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Shellbox.Local.Qmp;

/// <summary>
/// One connection to a box's QEMU guest agent (qemu-ga), synchronized: one JSON command per line, one reply per line,
/// in order. Its file commands read and write a guest file as root without starting a process in the guest, which
/// under TCG costs tens of milliseconds of emulated CPU per program.
/// </summary>
internal sealed class GuestAgentConnection : IAsyncDisposable
{
    // What one guest-file-read asks for: a guest file the runtime reads (/etc/hosts) is far smaller.
    private const int ReadChunk = 64 * 1024;

    private readonly Socket socket;
    private readonly NetworkStream stream;
    private readonly StreamReader reader;

    private GuestAgentConnection(Socket socket)
    {
        this.socket = socket;
        stream = new NetworkStream(socket, ownsSocket: false);
        reader = new StreamReader(stream, new UTF8Encoding(false));
    }

    /// <summary>Connects to the host side of the agent's port and synchronizes with the agent.</summary>
    public static async Task<GuestAgentConnection> OpenAsync(string socketPath, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var connection = new GuestAgentConnection(socket);
        try
        {
            // 0xFF resets the agent's parser (a half command a previous client left); the sync then skips any reply
            // still queued for that client: the first line answering our id is ours.
            var id = (long)Random.Shared.Next(1, int.MaxValue);
            await connection.stream.WriteAsync(new byte[] { 0xFF }, cancellationToken).ConfigureAwait(false);
            await connection.SendAsync("guest-sync-delimited", new JsonObject { ["id"] = id }, cancellationToken).ConfigureAwait(false);
            while (!await connection.IsSyncReplyAsync(id, cancellationToken).ConfigureAwait(false))
            {
            }

            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Runs one command and returns its "return"; an "error" reply throws <see cref="IOException"/>.</summary>
    public async Task<JsonNode> ExecuteAsync(string command, JsonObject arguments, CancellationToken cancellationToken)
    {
        await SendAsync(command, arguments, cancellationToken).ConfigureAwait(false);
        return await ReplyAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs the commands pipelined (sent together, answered in order): one round trip through the emulated guest
    /// instead of one each. The "return" of each, in order; when any was refused, every reply is read first (the
    /// connection stays in step), then the first refusal throws.
    /// </summary>
    public async Task<IReadOnlyList<JsonNode>> ExecuteAllAsync(IReadOnlyList<(string Command, JsonObject Arguments)> commands, CancellationToken cancellationToken)
    {
        var lines = new StringBuilder();
        foreach (var (command, arguments) in commands)
        {
            lines.Append(new JsonObject { ["execute"] = command, ["arguments"] = arguments }.ToJsonString()).Append('\n');
        }

        await stream.WriteAsync(Encoding.UTF8.GetBytes(lines.ToString()), cancellationToken).ConfigureAwait(false);
        var replies = new List<JsonNode>(commands.Count);
        GuestAgentRefusedException? refused = null;
        foreach (var _ in commands)
        {
            try
            {
                replies.Add(await ReplyAsync(cancellationToken).ConfigureAwait(false));
            }
            catch (GuestAgentRefusedException e)
            {
                refused ??= e;
                replies.Add(JsonValue.Create(0));
            }
        }

        return refused is null ? replies : throw refused;
    }

    /// <summary>The whole content of a guest file.</summary>
    public async Task<byte[]> ReadFileAsync(string path, CancellationToken cancellationToken) =>
        await TryReadFileAsync(path, cancellationToken).ConfigureAwait(false)
        ?? throw new IOException($"The guest has no file {path}.");

    /// <summary>The whole content of a guest file; null when it does not exist.</summary>
    public Task<byte[]?> TryReadFileAsync(string path, CancellationToken cancellationToken) =>
        TryReadFileAsync(path, int.MaxValue, cancellationToken);

    /// <summary>The first bytes of a guest file, up to about <paramref name="limit"/>; null when it does not exist.</summary>
    public async Task<byte[]?> TryReadFileAsync(string path, int limit, CancellationToken cancellationToken)
    {
        long handle;
        try
        {
            handle = await OpenFileAsync(path, "r", cancellationToken).ConfigureAwait(false);
        }
        catch (GuestAgentRefusedException e) when (e.Description.EndsWith(": No such file or directory", StringComparison.Ordinal))
        {
            // qemu-ga reports the errno only as strerror's text (its class is GenericError).
            return null;
        }

        using var content = new MemoryStream();
        try
        {
            while (true)
            {
                var count = (int)Math.Min(ReadChunk, limit - content.Length);
                var read = await ExecuteAsync("guest-file-read", new JsonObject { ["handle"] = handle, ["count"] = count }, cancellationToken).ConfigureAwait(false);
                var data = Convert.FromBase64String(read["buf-b64"]?.GetValue<string>() ?? "");
                content.Write(data);
                if (read["eof"]?.GetValue<bool>() == true || data.Length == 0 || content.Length >= limit)
                {
                    break;
                }
            }
        }
        finally
        {
            await CloseFileAsync(handle, cancellationToken).ConfigureAwait(false);
        }

        return content.ToArray();
    }

    /// <summary>
    /// Replaces the content of a guest file (truncated and written in place: it keeps its owner and mode; a file that
    /// did not exist is made 0644). The write reaches the file when the agent closes it; an error there throws too.
    /// Two round trips: the open, then the write and the close pipelined (the close runs even when the write is refused).
    /// </summary>
    public async Task WriteFileAsync(string path, byte[] content, CancellationToken cancellationToken)
    {
        var handle = await OpenFileAsync(path, "w", cancellationToken).ConfigureAwait(false);
        var written = (await ExecuteAllAsync([FileWrite(handle, content), FileClose(handle)], cancellationToken).ConfigureAwait(false))[0];
        if (written["count"]?.GetValue<long>() != content.Length)
        {
            throw new IOException($"The guest agent wrote {written["count"]} of {content.Length} bytes to {path}.");
        }
    }

    /// <summary>guest-file-open of <paramref name="path"/> in <paramref name="mode"/>, as a command for <see cref="ExecuteAllAsync"/>.</summary>
    public static (string Command, JsonObject Arguments) FileOpen(string path, string mode) =>
        ("guest-file-open", new JsonObject { ["path"] = path, ["mode"] = mode });

    /// <summary>guest-file-write of <paramref name="content"/> to an open handle; its reply's "count" is what was written.</summary>
    public static (string Command, JsonObject Arguments) FileWrite(long handle, byte[] content) =>
        ("guest-file-write", new JsonObject { ["handle"] = handle, ["buf-b64"] = Convert.ToBase64String(content) });

    /// <summary>guest-file-close of an open handle.</summary>
    public static (string Command, JsonObject Arguments) FileClose(long handle) =>
        ("guest-file-close", new JsonObject { ["handle"] = handle });

    public async ValueTask DisposeAsync()
    {
        reader.Dispose();
        await stream.DisposeAsync().ConfigureAwait(false);
        socket.Dispose();
    }

    private async Task<long> OpenFileAsync(string path, string mode, CancellationToken cancellationToken) =>
        (await ExecuteAllAsync([FileOpen(path, mode)], cancellationToken).ConfigureAwait(false))[0].GetValue<long>();

    private Task CloseFileAsync(long handle, CancellationToken cancellationToken) =>
        ExecuteAllAsync([FileClose(handle)], cancellationToken);

    private async Task SendAsync(string command, JsonObject arguments, CancellationToken cancellationToken)
    {
        var line = new JsonObject { ["execute"] = command, ["arguments"] = arguments }.ToJsonString() + "\n";
        await stream.WriteAsync(Encoding.UTF8.GetBytes(line), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Whether the next line is the reply to our sync; anything else (stale replies, the 0xFF) is skipped.</summary>
    private async Task<bool> IsSyncReplyAsync(long id, CancellationToken cancellationToken)
    {
        var line = await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false)
            ?? throw new IOException("The guest agent's port closed.");
        try
        {
            return JsonNode.Parse(line.TrimStart('\uFFFD', ' ')) is JsonObject reply
                && reply["return"] is JsonValue value && value.GetValueKind() == JsonValueKind.Number && value.GetValue<long>() == id;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>The "return" of the next reply; an "error" reply throws.</summary>
    private async Task<JsonNode> ReplyAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var line = await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false)
                ?? throw new IOException("The guest agent's port closed.");
            line = line.TrimStart('\uFFFD', ' ');
            if (line.Length == 0)
            {
                continue;
            }

            var reply = JsonNode.Parse(line) as JsonObject ?? throw new IOException($"The guest agent sent no JSON object: {line}");
            if (reply["error"] is JsonObject error)
            {
                throw new GuestAgentRefusedException(error["desc"]?.GetValue<string>() ?? line);
            }

            return reply["return"] ?? throw new IOException($"The guest agent's reply has no return: {line}");
        }
    }
}

/// <summary>The guest agent answered a command with an error: <see cref="Description"/> is its "desc".</summary>
internal sealed class GuestAgentRefusedException(string description) : IOException($"The guest agent refused: {description}")
{
    public string Description => description;
}
