using System.Collections.Concurrent;
using Shellbox.Status;

namespace Shellbox.PowerShell.Hosting;

/// <summary>The status servers this session started, by port: Stop-ShellboxStatusServer finds them here.</summary>
internal static class StatusServers
{
    private static readonly ConcurrentDictionary<int, StatusServer> Running = new();

    public static bool TryAdd(StatusServer server) => Running.TryAdd(server.Options.Port, server);

    public static IReadOnlyList<StatusServer> All => Running.Values.OrderBy(s => s.Options.Port).ToList();

    public static StatusServer? Remove(int port) => Running.TryRemove(port, out var server) ? server : null;
}
