using System.Collections.Concurrent;
using Shellbox.Core.Boxes;
using Shellbox.Core.Engine;
using Shellbox.Core.Model;

namespace Shellbox.PowerShell.Hosting;

/// <summary>
/// Sessions this PowerShell process holds open, each kept alive by a heartbeat timer until it is
/// disconnected. If the process dies, the heartbeats stop and reconcile reclaims the box.
/// </summary>
internal static class OpenSessions
{
    private static readonly ConcurrentDictionary<string, OpenSession> Sessions = new(StringComparer.Ordinal);

    /// <summary>Writes the box's pinned host key where the session's ssh reads it, and opens the session (heartbeating from now on).</summary>
    public static async Task<OpenSession> OpenAsync(ShellboxEngine engine, BoxConnection connection, CancellationToken cancellationToken)
    {
        var knownHosts = Path.Combine(engine.Settings.StateDirectory, "sessions", connection.SessionId + ".known_hosts");
        Directory.CreateDirectory(Path.GetDirectoryName(knownHosts)!);
        await File.WriteAllTextAsync(knownHosts, connection.Endpoint.HostKey + "\n", cancellationToken).ConfigureAwait(false);
        return Open(engine, connection, knownHosts);
    }

    public static OpenSession Open(ShellboxEngine engine, BoxConnection connection, string knownHostsFile)
    {
        var session = new OpenSession(engine, connection, knownHostsFile);
        Sessions[connection.SessionId] = session;
        return session;
    }

    public static IReadOnlyList<OpenSession> Find(string? userId, string? boxName) =>
        Sessions.Values.Where(s => (userId is null || s.Connection.Box.UserId == userId) && (boxName is null || s.Connection.Box.BoxName == boxName)).ToList();

    public static OpenSession? Get(string sessionId) => Sessions.TryGetValue(sessionId, out var s) ? s : null;

    public static async Task<string> CloseAsync(OpenSession session, CancellationToken cancellationToken)
    {
        Sessions.TryRemove(session.Connection.SessionId, out _);
        await session.StopHeartbeatAsync().ConfigureAwait(false);
        try
        {
            return await new DisconnectFlow(session.Engine).DisconnectAsync(session.Connection.Box.Id, session.Connection.SessionId, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            File.Delete(session.KnownHostsFile);
        }
    }
}

internal sealed class OpenSession
{
    private readonly ITimer heartbeat;

    public OpenSession(ShellboxEngine engine, BoxConnection connection, string knownHostsFile)
    {
        Engine = engine;
        Connection = connection;
        KnownHostsFile = knownHostsFile;
        var period = engine.Settings.LeaseDuration / 3;
        heartbeat = engine.Time.CreateTimer(_ => Beat(), null, period, period);
    }

    public ShellboxEngine Engine { get; }

    public BoxConnection Connection { get; }

    public string KnownHostsFile { get; }

    public ValueTask StopHeartbeatAsync() => heartbeat.DisposeAsync();

    private void Beat()
    {
        try
        {
            SessionHeartbeat.BeatAsync(Engine, BoxRecord.IdFor(Connection.Box.UserId, Connection.Box.BoxName), Connection.SessionId).GetAwaiter().GetResult();
        }
        catch (Exception e)
        {
            // A missed beat is survivable: the lease lasts three periods.
            Core.Observability.ShellboxLog.Dropped("Shellbox.PowerShell.Sessions", $"heartbeat of session={Connection.SessionId} missed", e);
        }
    }
}
