using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Shellbox.Local.Network;

/// <summary>
/// slirp4netns's API socket (--api-socket): one JSON request per connection, one JSON reply. Used to publish
/// the box's SSH port on the bastion (add_hostfwd), the only way in from outside the box's namespace.
/// </summary>
internal static class SlirpApi
{
    /// <summary>The bastion-side ports already forwarded into the namespace.</summary>
    public static async Task<IReadOnlyList<int>> ForwardedPortsAsync(string socketPath, CancellationToken cancellationToken)
    {
        var reply = await CallAsync(socketPath, new { execute = "list_hostfwd" }, cancellationToken).ConfigureAwait(false);
        return reply.TryGetProperty("entries", out var entries) && entries.ValueKind == JsonValueKind.Array
            ? entries.EnumerateArray().Select(e => e.GetProperty("host_port").GetInt32()).ToList()
            : [];
    }

    /// <summary>Forwards TCP <paramref name="hostAddress"/>:<paramref name="hostPort"/> on the bastion to <paramref name="insideAddress"/>:<paramref name="insidePort"/> in the namespace.</summary>
    public static Task AddForwardAsync(string socketPath, string hostAddress, int hostPort, string insideAddress, int insidePort, CancellationToken cancellationToken) =>
        CallAsync(
            socketPath,
            new
            {
                execute = "add_hostfwd",
                arguments = new { proto = "tcp", host_addr = hostAddress, host_port = hostPort, guest_addr = insideAddress, guest_port = insidePort },
            },
            cancellationToken);

    private static async Task<JsonElement> CallAsync(string socketPath, object request, CancellationToken cancellationToken)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken).ConfigureAwait(false);
        await socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(request), SocketFlags.None, cancellationToken).ConfigureAwait(false);
        socket.Shutdown(SocketShutdown.Send);

        using var reply = new MemoryStream();
        var buffer = new byte[4096];
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false)) > 0)
        {
            reply.Write(buffer, 0, read);
        }

        var text = Encoding.UTF8.GetString(reply.ToArray());
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(text);
            root = document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new IOException($"slirp4netns answered '{text.Trim()}'", e);
        }

        if (root.TryGetProperty("error", out var error))
        {
            throw new IOException($"slirp4netns refused: {(error.TryGetProperty("desc", out var d) ? d.GetString() : error.ToString())}");
        }

        return root.TryGetProperty("return", out var result) ? result : root;
    }
}
