using System.Text;
using System.Text.Json.Nodes;
using Shellbox.Local.Qmp;

namespace Shellbox.Local.Runtime;

/// <summary>
/// Sets a box's clock with the guest agent's guest-set-time, where its golden made that cheap. qemu-ga sets the time
/// itself, then runs /sbin/hwclock -w: util-linux's waits up to a second for the RTC; the Debian golden's own hwclock
/// (shellbox-hwclock, a 235-byte static program) returns at once. That is one tiny program started and no status polls,
/// where `date -s` through guest-exec starts a dynamically linked program and is polled until it ends.
/// </summary>
internal static class GuestClock
{
    // The golden's hwclock names itself within its first bytes; any other would make guest-set-time take up to a second.
    private const int MarkerBytes = 256;
    private const string Marker = "shellbox-hwclock";

    /// <summary>
    /// Sets the clock to <paramref name="now"/>; false when the guest's hwclock is not the golden's quick one (the caller
    /// then runs `date -s`). Throws <see cref="IOException"/> when the agent refused.
    /// </summary>
    public static async Task<bool> TrySetAsync(GuestAgentConnection agent, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var hwclock = await agent.TryReadFileAsync("/sbin/hwclock", MarkerBytes, cancellationToken).ConfigureAwait(false);
        if (hwclock is null || !Encoding.Latin1.GetString(hwclock).Contains(Marker, StringComparison.Ordinal))
        {
            return false;
        }

        var nanoseconds = (now - DateTimeOffset.UnixEpoch).Ticks * 100;
        await agent.ExecuteAsync("guest-set-time", new JsonObject { ["time"] = nanoseconds }, cancellationToken).ConfigureAwait(false);
        return true;
    }
}
