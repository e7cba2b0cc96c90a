using System.Globalization;

namespace Shellbox.Contracts;

/// <summary>
/// A job in a box that counts once a second into /root/count, detached from the session that starts it: it goes on
/// while the box runs, stands still while the box is suspended, and goes on from where it stood after a resume.
/// </summary>
public static class BoxCounter
{
    /// <summary>Starts the counter (run it in the box as root).</summary>
    public const string Start = "setsid sh -c 'i=0; while true; do i=$((i+1)); echo $i > /root/count; sleep 1; done' </dev/null >/dev/null 2>&1 &";

    /// <summary>Prints the count so far.</summary>
    public const string Read = "cat /root/count";

    /// <summary>The count in what <see cref="Read"/> printed.</summary>
    public static int Parse(string output) => int.Parse(output.Trim(), CultureInfo.InvariantCulture);

    /// <summary>The counter moves on while we watch; <paramref name="run"/> runs a command in the box and returns what it printed.</summary>
    public static async Task AssertCountingAsync(Func<string, Task<string>> run)
    {
        var first = Parse(await run(Read));
        await Task.Delay(TimeSpan.FromSeconds(2.5));
        var later = Parse(await run(Read));
        Assert.True(later > first, $"the counter stood still at {first}");
    }
}
