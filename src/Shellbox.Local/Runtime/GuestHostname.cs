using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Shellbox.Local.Qmp;

namespace Shellbox.Local.Runtime;

/// <summary>
/// Gives a box its hostname through its guest agent's file commands, with what /usr/sbin/shellbox-hostname does in the
/// guest (the kernel's hostname, /etc/hostname for the next boot, the 127.0.1.1 line of /etc/hosts) but no process
/// started there: under TCG the script's sh, cat, hostname and sed cost about 0.3 s of a claim, the file commands a few
/// JSON round trips.
/// </summary>
internal static partial class GuestHostname
{
    // What one read of /etc/hosts asks for; a larger file is read again in full.
    private const int HostsChunk = 64 * 1024;

    /// <summary>
    /// Sets the hostname; throws <see cref="IOException"/> when the agent refused a step. The file commands go pipelined,
    /// two round trips (two more when /etc/hosts changes): each round trip waits on the guest's one emulated CPU.
    /// </summary>
    public static async Task SetAsync(GuestAgentConnection agent, string hostname, CancellationToken cancellationToken)
    {
        // Latin-1 maps every byte to one char and back: whatever else /etc/hosts holds is written back unchanged.
        var opened = await agent.ExecuteAllAsync(
            [GuestAgentConnection.FileOpen("/proc/sys/kernel/hostname", "w"), GuestAgentConnection.FileOpen("/etc/hostname", "w"), GuestAgentConnection.FileOpen("/etc/hosts", "r")],
            cancellationToken).ConfigureAwait(false);
        var (kernel, file, hostsHandle) = (opened[0].GetValue<long>(), opened[1].GetValue<long>(), opened[2].GetValue<long>());
        var done = await agent.ExecuteAllAsync(
            [
                GuestAgentConnection.FileWrite(kernel, Encoding.Latin1.GetBytes(hostname)),
                GuestAgentConnection.FileWrite(file, Encoding.Latin1.GetBytes(hostname + "\n")),
                ("guest-file-read", new JsonObject { ["handle"] = hostsHandle, ["count"] = HostsChunk }),
                GuestAgentConnection.FileClose(kernel), GuestAgentConnection.FileClose(file), GuestAgentConnection.FileClose(hostsHandle),
            ],
            cancellationToken).ConfigureAwait(false);
        if (done[0]["count"]?.GetValue<long>() != hostname.Length || done[1]["count"]?.GetValue<long>() != hostname.Length + 1)
        {
            throw new IOException($"The guest agent wrote only part of the hostname ({done[0]["count"]}, {done[1]["count"]} bytes).");
        }

        var read = done[2];
        var hostsBytes = read["eof"]?.GetValue<bool>() == true
            ? Convert.FromBase64String(read["buf-b64"]?.GetValue<string>() ?? "")
            : await agent.ReadFileAsync("/etc/hosts", cancellationToken).ConfigureAwait(false);
        var hosts = Encoding.Latin1.GetString(hostsBytes);
        var named = WithLoopbackName(hosts, hostname);
        if (named != hosts)
        {
            await agent.WriteFileAsync("/etc/hosts", Encoding.Latin1.GetBytes(named), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// <paramref name="hosts"/> with every 127.0.1.1 line naming <paramref name="hostname"/> alone, as shellbox-hostname's
    /// <c>sed 's/^127\.0\.1\.1\s.*/127.0.1.1\t$1/'</c> does; a file without such a line is left as it is.
    /// </summary>
    public static string WithLoopbackName(string hosts, string hostname) =>
        LoopbackNameLine().Replace(hosts, _ => "127.0.1.1\t" + hostname);

    // [ \t] rather than \s: in multiline mode \s would also take the line's end and the next line with it.
    [GeneratedRegex(@"^127\.0\.1\.1[ \t][^\n]*", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex LoopbackNameLine();
}
