using System.Net;
using System.Net.Sockets;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Shellbox.ArmEmulator;
using Shellbox.ArmEmulator.Hosts;
using Shellbox.Azure.Arm;
using Shellbox.Azure.Identity;
using Shellbox.Azure.Runtime;
using Shellbox.Azure.Settings;
using Shellbox.Azure.Store;
using Shellbox.Azure.Tests.Arm;
using Shellbox.Azure.Tests.Store;
using Shellbox.Contracts;
using Shellbox.Core.Boxes;
using Shellbox.Core.Engine;
using Shellbox.Core.Lifecycle;
using Shellbox.Core.Model;
using Shellbox.Core.Ports;
using Shellbox.Core.Settings;
using Xunit.Abstractions;

namespace Shellbox.Azure.Tests.Runtime;

/// <summary>
/// The whole Azure provider on this machine, as the engine meets it: the pool in a real Azurite table, the real
/// Azure SDK against the loopback ARM emulator whose VMs are real sshds running the built agent
/// (<see cref="SshdVmHost"/>, with the fixture's minimal guest and golden cache), and the real AgentBoxRuntime
/// driving QEMU boxes through them. Only the flows' own timing is the test's.
/// </summary>
internal sealed class AzureWithRealInstances : IAsyncDisposable
{
    private readonly string folder;
    private readonly ArmEmulatorServer emulator;
    private readonly SshdVmHost host;
    private readonly AzuriteProcess azurite;

    private AzureWithRealInstances(string folder, ArmEmulatorServer emulator, SshdVmHost host, AzuriteProcess azurite, ShellboxEngine engine)
    {
        this.folder = folder;
        this.emulator = emulator;
        this.host = host;
        this.azurite = azurite;
        Engine = engine;
    }

    /// <summary>Counts once a second into /root/count, detached from the session that starts it: a job going on, or standing still once suspended.</summary>
    public const string StartCounter = BoxCounter.Start;

    public ShellboxEngine Engine { get; }

    public ArmEmulatorServer Emulator => emulator;

    /// <param name="linger">shellbox.json's lingerSeconds: how long a box's instance stays its own after its last session.</param>
    public static async Task<AzureWithRealInstances> StartAsync(AgentHostFixture fixture, PoolConfig pool, TimeSpan? linger = null)
    {
        var folder = Directory.CreateTempSubdirectory("shellbox-azure-real-").FullName;
        var sshPort = FreeLoopbackPort(); // a port of its own: another run's VMs may hold 127.0.1.N:22
        var host = new SshdVmHost(fixture.Host.Options with { DataDirectory = Path.Combine(folder, "vms"), InstanceSshPort = sshPort });
        await IdentityEnvironment.EnsureAsync();
        var emulator = await ArmEmulatorServer.StartAsync(new ArmEmulatorOptions { DataDirectory = Path.Combine(folder, "arm"), VmHost = host });
        var azurite = await AzuriteProcess.StartAsync();
        var settings = RealInstanceSettings.For(emulator, sshPort);
        var options = RealInstanceSettings.Options(emulator);
        var agent = new SshInstanceAgent("root", fixture.ControlKeyPath);
        var controlPublicKey = (await File.ReadAllTextAsync(fixture.ControlKeyPath + ".pub")).Trim();
        var store = await TablePoolStore.OpenAsync(new TableServiceClient(azurite.ConnectionString), AzuriteFixture.NewTableName());
        var infrastructure = new AzureInfrastructure(settings, AzureCredentials.Create(settings, options.Transport), agent, controlPublicKey, options);
        var engine = new ShellboxEngine(
            new ShellboxSettings { Provider = ShellboxSettings.AzureProvider, StateDirectory = Path.Combine(folder, "state"), Pool = pool, Linger = linger ?? TimeSpan.Zero },
            store,
            infrastructure,
            new AgentBoxRuntime(store, agent, fixture.ControlKeyPath, copyVolume: infrastructure.CopyVolumeAsync), // as AzureProvider composes it
            TimeProvider.System,
            new RandomIdGenerator());
        await engine.Infrastructure.EnsureGoldenSnapshotAsync();
        return new AzureWithRealInstances(folder, emulator, host, azurite, engine);
    }

    /// <summary>Runs a command in the box as root over SSH; its output, after asserting it exited 0.</summary>
    public async Task<string> RunAsync(BoxConnection connection, string command)
    {
        var result = await Engine.Runtime.RunAsync(connection.Endpoint, command, TimeSpan.FromSeconds(30));
        Assert.True(result.ExitCode == 0, $"{command}: exit {result.ExitCode} {result.StdErr}");
        return result.StdOut;
    }

    /// <summary>The counter <see cref="StartCounter"/> started moves on while we watch.</summary>
    public Task AssertCountingAsync(BoxConnection connection) => BoxCounter.AssertCountingAsync(command => RunAsync(connection, command));

    /// <summary>One reconcile pass, each outcome written to the test's output.</summary>
    public async Task<ReconcileResult> ReconcileAsync(ITestOutputHelper output)
    {
        var result = await new PoolReconciler(Engine).ReconcileAsync();
        foreach (var outcome in result.Outcomes)
        {
            output.WriteLine($"reconcile: {(outcome.Succeeded ? "ok" : "FAILED")} {outcome.Message}");
        }

        return result;
    }

    /// <summary>The process id of the QEMU the agent runs on the instance (its VM), or null when none runs there.</summary>
    public int? QemuPid(string instanceId) => Local.Qemu.QemuProcess.Find(Path.Combine(host.AgentHome(instanceId), "run"))?.Pid;

    public async ValueTask DisposeAsync()
    {
        await Engine.DisposeAsync();
        await emulator.DisposeAsync();
        await host.DisposeAsync(); // stops the VMs, and with them any box their agent left running
        await azurite.DisposeAsync();
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
            // a file still held is reported by the test that holds it
        }
    }

    private static int FreeLoopbackPort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
