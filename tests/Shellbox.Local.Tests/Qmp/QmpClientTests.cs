using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Shellbox.Local.Qmp;

namespace Shellbox.Local.Tests.Qmp;

/// <summary>The QMP client against a scripted server on a unix socket (no QEMU needed).</summary>
public sealed class QmpClientTests : IDisposable
{
    private readonly TempFolder folder = new("shellbox-qmp");

    public void Dispose() => folder.Dispose();

    /// <summary>A one-connection QMP server: greets, then answers each command with <paramref name="reply"/>.</summary>
    private (string Path, Task Server) Serve(Func<JsonElement, IEnumerable<string>> reply, bool closeAfterFirstCommand = false)
    {
        var path = folder.Combine($"{Guid.NewGuid():N}.sock");
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        var server = Task.Run(async () =>
        {
            using (listener)
            using (var connection = await listener.AcceptAsync())
            await using (var stream = new NetworkStream(connection))
            using (var reader = new StreamReader(stream))
            await using (var writer = new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true, NewLine = "\n" })
            {
                await writer.WriteLineAsync("""{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}}, "capabilities": ["oob"]}}""");
                var commands = 0;
                while (await reader.ReadLineAsync() is { } line)
                {
                    using var request = JsonDocument.Parse(line);
                    var isNegotiation = request.RootElement.GetProperty("execute").GetString() == "qmp_capabilities";
                    foreach (var response in isNegotiation ? [Return(request.RootElement, "{}")] : reply(request.RootElement))
                    {
                        await writer.WriteLineAsync(response);
                    }

                    if (!isNegotiation && closeAfterFirstCommand && ++commands == 1)
                    {
                        return;
                    }
                }
            }
        });
        return (path, server);
    }

    private static string Return(JsonElement request, string value) => "{\"return\": " + value + ", \"id\": " + request.GetProperty("id").GetRawText() + "}";

    private static string Event(string name) => """{"timestamp": {"seconds": 1795600000, "microseconds": 5}, "event": """ + JsonSerializer.Serialize(name) + """, "data": {"reason": "test"}}""";

    [Fact]
    public async Task A_command_returns_its_result_and_events_in_between_are_delivered_as_events()
    {
        var (path, _) = Serve(request =>
        [
            Event("STOP"),
            Return(request, """{"status": "paused", "echo": """ + request.GetProperty("arguments").GetRawText() + "}"),
        ]);
        await using var qmp = await QmpClient.ConnectAsync(path);

        var result = await qmp.ExecuteAsync("query-status", new { probe = 7 });

        Assert.Equal("paused", result.GetProperty("status").GetString());
        Assert.Equal(7, result.GetProperty("echo").GetProperty("probe").GetInt32());
        Assert.Equal(7, qmp.Greeting.GetProperty("version").GetProperty("qemu").GetProperty("major").GetInt32());
        var stop = await qmp.Events.ReadAsync();
        Assert.Equal("STOP", stop.Name);
        Assert.Equal("test", stop.Data.GetProperty("reason").GetString());
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1795600000).AddTicks(50), stop.Timestamp);
    }

    [Fact]
    public async Task A_qmp_error_becomes_an_exception_with_qemus_description()
    {
        var (path, _) = Serve(request => ["""{"error": {"class": "GenericError", "desc": "Can't migrate the vm that was paused"}, "id": """ + request.GetProperty("id").GetRawText() + "}"]);
        await using var qmp = await QmpClient.ConnectAsync(path);

        var error = await Assert.ThrowsAsync<QmpException>(() => qmp.ExecuteAsync("migrate", new { uri = "exec:true" }));

        Assert.Equal("GenericError", error.ErrorClass);
        Assert.Equal("Can't migrate the vm that was paused", error.Description);
        Assert.Contains("migrate", error.Message);
    }

    [Fact]
    public async Task A_command_pending_when_qemu_goes_away_fails_instead_of_hanging()
    {
        var (path, server) = Serve(_ => [], closeAfterFirstCommand: true);
        await using var qmp = await QmpClient.ConnectAsync(path);

        var error = await Assert.ThrowsAsync<QmpException>(() => qmp.ExecuteAsync("quit").WaitAsync(TimeSpan.FromSeconds(10)));

        Assert.Equal("ConnectionClosed", error.ErrorClass);
        await server;
        await qmp.Closed.WaitAsync(TimeSpan.FromSeconds(10));
        await Assert.ThrowsAsync<QmpException>(() => qmp.ExecuteAsync("query-status"));
    }

    [Fact]
    public async Task Cancelling_abandons_the_wait_for_a_reply()
    {
        var (path, _) = Serve(_ => []); // never answers
        await using var qmp = await QmpClient.ConnectAsync(path);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => qmp.ExecuteAsync("query-migrate", null, cancel.Token));
    }
}
