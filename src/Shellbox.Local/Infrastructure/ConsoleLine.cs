namespace Shellbox.Local.Infrastructure;

/// <summary>Waits for a guest to print a line on its console (a channel only the host reads).</summary>
internal static class ConsoleLine
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(200);

    /// <summary>True once a line of <paramref name="consoleLog"/> starts with <paramref name="line"/>; false after the timeout or once the guest is gone.</summary>
    public static async Task<bool> WaitAsync(string consoleLog, string line, TimeSpan timeout, Func<bool> guestAlive, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (Printed(consoleLog, line))
            {
                return true;
            }

            if (!guestAlive() || DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(Poll, cancellationToken).ConfigureAwait(false);
        }
    }

    private static bool Printed(string consoleLog, string line)
    {
        try
        {
            using var stream = new FileStream(consoleLog, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            while (reader.ReadLine() is { } text)
            {
                if (text.TrimStart().StartsWith(line, StringComparison.Ordinal))
                {
                    return true;
                }
            }

            return false;
        }
        catch (FileNotFoundException)
        {
            return false;
        }
    }
}
