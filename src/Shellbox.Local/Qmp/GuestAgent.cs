using System.Text;
using System.Text.Json.Nodes;

namespace Shellbox.Local.Qmp;

/// <summary>
/// The QEMU guest agent (qemu-ga) of a box, reached through the host side of its virtio-serial port (see
/// <see cref="GuestAgentConnection"/>). It runs a program in the guest as root without an SSH login, which under TCG
/// costs a key exchange and a PAM session (about 0.4 s of a resume). Only the runtime's own fixed programs are run,
/// with arguments it validated.
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
    public static Task<GuestAgentResult?> RunAsync(string socketPath, string program, IReadOnlyList<string> arguments, bool captureOutput, TimeSpan timeout, CancellationToken cancellationToken) =>
        WithAgentAsync<GuestAgentResult>(socketPath, timeout, (agent, ct) => RunAsync(agent, program, arguments, captureOutput, ct), cancellationToken);

    /// <summary>
    /// Does <paramref name="work"/> on one connection to the agent; null when the agent did not answer (or the work did
    /// not end) within <paramref name="timeout"/>.
    /// </summary>
    public static async Task<T?> WithAgentAsync<T>(string socketPath, TimeSpan timeout, Func<GuestAgentConnection, CancellationToken, Task<T>> work, CancellationToken cancellationToken)
        where T : class
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await using var agent = await GuestAgentConnection.OpenAsync(socketPath, deadline.Token).ConfigureAwait(false);
            return await work(agent, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>Runs <paramref name="program"/> through an open connection and waits for it to end.</summary>
    public static async Task<GuestAgentResult> RunAsync(GuestAgentConnection agent, string program, IReadOnlyList<string> arguments, bool captureOutput, CancellationToken cancellationToken)
    {
        var pid = (await agent.ExecuteAsync(
            "guest-exec",
            new JsonObject { ["path"] = program, ["arg"] = new JsonArray(arguments.Select(a => (JsonNode?)a).ToArray()), ["capture-output"] = captureOutput },
            cancellationToken).ConfigureAwait(false))["pid"]!.GetValue<long>();
        var started = System.Diagnostics.Stopwatch.StartNew();
        var wait = QuickPoll;
        while (true)
        {
            await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
            if (started.Elapsed > QuickPhase)
            {
                wait = TimeSpan.FromTicks(Math.Min(wait.Ticks * 3 / 2, PollCap.Ticks));
            }

            var status = await agent.ExecuteAsync("guest-exec-status", new JsonObject { ["pid"] = pid }, cancellationToken).ConfigureAwait(false);
            if (status["exited"]?.GetValue<bool>() == true)
            {
                var output = status["out-data"]?.GetValue<string>() is { } data ? Encoding.UTF8.GetString(Convert.FromBase64String(data)) : "";
                return new GuestAgentResult(status["exitcode"]?.GetValue<int>() ?? -1, output);
            }
        }
    }
}

/// <summary>How a program run by the guest agent ended, and its standard output (empty unless captured).</summary>
internal sealed record GuestAgentResult(int ExitCode, string StdOut);
