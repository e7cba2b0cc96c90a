using System.Text;
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
    /// <summary>Sets the hostname; throws <see cref="IOException"/> when the agent refused a step.</summary>
    public static async Task SetAsync(GuestAgentConnection agent, string hostname, CancellationToken cancellationToken)
    {
        // Latin-1 maps every byte to one char and back: whatever else /etc/hosts holds is written back unchanged.
        await agent.WriteFileAsync("/proc/sys/kernel/hostname", Encoding.Latin1.GetBytes(hostname), cancellationToken).ConfigureAwait(false);
        await agent.WriteFileAsync("/etc/hostname", Encoding.Latin1.GetBytes(hostname + "\n"), cancellationToken).ConfigureAwait(false);
        var hosts = Encoding.Latin1.GetString(await agent.ReadFileAsync("/etc/hosts", cancellationToken).ConfigureAwait(false));
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
