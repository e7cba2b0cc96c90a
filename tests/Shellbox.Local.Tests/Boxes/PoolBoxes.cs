using Shellbox.Contracts;
using Shellbox.Core.Boxes;
using Shellbox.Core.Engine;
using Shellbox.Core.Errors;
using Shellbox.Core.Settings;
using Xunit.Abstractions;

namespace Shellbox.Local.Tests.Boxes;

/// <summary>
/// A small pool on real parts for the box tests: SQLite, volume folders, QEMU boxes of the test golden, reconcile
/// (filled with two passes: make, then pair). Its engine and the steps the tests take through it; every reconcile
/// outcome goes to the test's output.
/// </summary>
internal sealed class PoolBoxes : IAsyncDisposable
{
    public const string User = "alice";

    /// <summary>Starts <see cref="BoxCounter"/> in a box.</summary>
    public const string StartCounter = BoxCounter.Start;

    private readonly TempFolder folder;
    private readonly ITestOutputHelper output;

    private PoolBoxes(TempFolder folder, ITestOutputHelper output, ShellboxEngine engine)
    {
        this.folder = folder;
        this.output = output;
        Engine = engine;
    }

    public ShellboxEngine Engine { get; }

    /// <summary>The state folder (instances/, volumes/, state.db).</summary>
    public string State => folder.Combine("state");

    /// <summary>Three slots on free ports, the settings <paramref name="configure"/> makes of them, and a filled pool.</summary>
    public static async Task<PoolBoxes> StartAsync(GoldenFixture golden, ITestOutputHelper output, string name, Func<ShellboxSettings, ShellboxSettings> configure)
    {
        var folder = new TempFolder(name);
        var settings = configure(GoldenFixture.Settings(folder.Combine("state"), 3, GoldenFixture.FreePortBlock(3)));
        var pool = new PoolBoxes(folder, output, LocalProvider.CreateEngine(settings, options: golden.Options));
        await pool.ReconcileAsync();
        await pool.ReconcileAsync();
        return pool;
    }

    public async Task<ReconcileResult> ReconcileAsync()
    {
        var result = await new PoolReconciler(Engine).ReconcileAsync();
        foreach (var outcome in result.Outcomes)
        {
            output.WriteLine($"reconcile: {(outcome.Succeeded ? "ok" : "FAILED")} {outcome.Message}");
        }

        return result;
    }

    /// <summary>Connects; when the small pool is empty, refills it (two passes) and tries again.</summary>
    public async Task<BoxConnection> ConnectAsync(string name, string user = User)
    {
        try
        {
            return await new ConnectFlow(Engine).ConnectAsync(user, name);
        }
        catch (ShellboxException e) when (e.ErrorId is "PoolExhausted" or "AtCapacity")
        {
            await ReconcileAsync();
            await ReconcileAsync();
            return await new ConnectFlow(Engine).ConnectAsync(user, name);
        }
    }

    public Task<string> DisconnectAsync(BoxConnection connection) => new DisconnectFlow(Engine).DisconnectAsync(connection.Box.Id, connection.SessionId);

    /// <summary>Runs a command in the box as root; its output (a non-zero exit fails the test).</summary>
    public async Task<string> RunAsync(BoxConnection connection, string command)
    {
        var result = await Engine.Runtime.RunAsync(connection.Endpoint, command, TimeSpan.FromSeconds(20));
        Assert.True(result.ExitCode == 0, $"{command}: exit {result.ExitCode} {result.StdErr}");
        return result.StdOut;
    }

    /// <summary>The counter started before (<see cref="StartCounter"/>) moves on while we watch.</summary>
    public Task AssertCountingAsync(BoxConnection connection) => BoxCounter.AssertCountingAsync(command => RunAsync(connection, command));

    public async ValueTask DisposeAsync()
    {
        await GoldenFixture.KillBoxesAsync(State);
        await Engine.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        folder.Dispose();
    }
}
