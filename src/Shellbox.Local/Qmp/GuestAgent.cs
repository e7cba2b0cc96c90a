using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Shellbox.Local.Qmp;

/// <summary>
/// The QEMU guest agent (qemu-ga) of a box, reached through the host side of its virtio-serial port: one JSON
/// command per line, one reply per line. It runs a program in the guest as root without an SSH login, which
/// under TCG costs a key exchange and a PAM session (about 0.4 s of a resume). Only the runtime's own fixed
/// programs are run, with arguments it validated.
/// </summary>
internal static class GuestAgent
{
    // Every status poll costs the guest's one emulated CPU a wake-up and a JSON round trip, taken from the program it
    // waits for: polled every 5 ms, a rekey took 2.7 s instead of 1.75 s. A short program (setting the clock, ~0.1 s) is
    // polled every 10 ms; past QuickPhase the wait grows to PollCap.
    private static readonly TimeSpan QuickPoll = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan QuickPhase = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan PollCap = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Runs <paramref name="program"/> with <paramref name="arguments"/> in the guest and waits for it to end; its exit
    /// code, or null when the agent did not answer in time (it may not run: a guest's root can stop it).
    /// </summary>
    public static async Task<int?> RunAsync(string socketPath, string program, IReadOnlyList<string> arguments, TimeSpan timeout, CancellationToken cancellationToken) =>
        (await RunAsync(socketPath, program, arguments, captureOutput: false, timeout, cancellationToken).ConfigureAwait(false))?.ExitCode;

    /// <summary>As <see cref="RunAsync(string, string, IReadOnlyList{string}, TimeSpan, CancellationToken)"/>, with what the program wrote on its standard output.</summary>
    public static async Task<GuestAgentResult?> RunAsync(string socketPath, string program, IReadOnlyList<string> arguments, bool captureOutput, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), deadline.Token).ConfigureAwait(false);
            await using var stream = new NetworkStream(socket, ownsSocket: false);
            using var reader = new StreamReader(stream, new UTF8Encoding(false));

            // 0xFF resets the agent's parser (a half command a previous client left); the sync then skips any reply
            // still queued for that client: the first line answering our id is ours.
            var id = (long)Random.Shared.Next(1, int.MaxValue);
            await stream.WriteAsync(new byte[] { 0xFF }, deadline.Token).ConfigureAwait(false);
            await SendAsync(stream, "guest-sync-delimited", new JsonObject { ["id"] = id }, deadline.Token).ConfigureAwait(false);
            while (!await IsSyncReplyAsync(reader, id, deadline.Token).ConfigureAwait(false))
            {
            }

            await SendAsync(
                stream,
                "guest-exec",
                new JsonObject { ["path"] = program, ["arg"] = new JsonArray(arguments.Select(a => (JsonNode?)a).ToArray()), ["capture-output"] = captureOutput },
                deadline.Token).ConfigureAwait(false);
            var pid = (await ReplyAsync(reader, deadline.Token).ConfigureAwait(false))["pid"]!.GetValue<long>();
            var started = System.Diagnostics.Stopwatch.StartNew();
            var wait = QuickPoll;
            while (true)
            {
                await Task.Delay(wait, deadline.Token).ConfigureAwait(false);
                if (started.Elapsed > QuickPhase)
                {
                    wait = TimeSpan.FromTicks(Math.Min(wait.Ticks * 3 / 2, PollCap.Ticks));
                }

                await SendAsync(stream, "guest-exec-status", new JsonObject { ["pid"] = pid }, deadline.Token).ConfigureAwait(false);
                var status = await ReplyAsync(reader, deadline.Token).ConfigureAwait(false);
                if (status["exited"]?.GetValue<bool>() == true)
                {
                    var output = status["out-data"]?.GetValue<string>() is { } data ? Encoding.UTF8.GetString(Convert.FromBase64String(data)) : "";
                    return new GuestAgentResult(status["exitcode"]?.GetValue<int>() ?? -1, output);
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    private static async Task SendAsync(Stream stream, string command, JsonObject arguments, CancellationToken cancellationToken)
    {
        var line = new JsonObject { ["execute"] = command, ["arguments"] = arguments }.ToJsonString() + "\n";
        await stream.WriteAsync(Encoding.UTF8.GetBytes(line), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Whether the next line is the reply to our sync; anything else (stale replies, the 0xFF) is skipped.</summary>
    private static async Task<bool> IsSyncReplyAsync(StreamReader reader, long id, CancellationToken cancellationToken)
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
    private static async Task<JsonNode> ReplyAsync(StreamReader reader, CancellationToken cancellationToken)
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
                throw new IOException($"The guest agent refused: {error["desc"]}");
            }

            return reply["return"] ?? throw new IOException($"The guest agent's reply has no return: {line}");
        }
    }
}

/// <summary>How a program run by the guest agent ended, and its standard output (empty unless captured).</summary>
internal sealed record GuestAgentResult(int ExitCode, string StdOut);
