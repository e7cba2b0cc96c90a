using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Net.Sockets;
using Azure.Core.Pipeline;
using Shellbox.ArmEmulator;
using Shellbox.ArmEmulator.Hosts;
using Shellbox.Azure.Arm;
using Shellbox.Azure.Identity;
using Shellbox.Azure.Runtime;
using Shellbox.Azure.Settings;
using Shellbox.Azure.Tests.Arm;
using Shellbox.Core.Model;
using Shellbox.Core.Ports;
using Shellbox.Local.Store;

namespace Shellbox.Azure.Tests.Runtime;

/// <summary>
/// The whole Azure path on one machine: the Azure infrastructure (real SDK) against the ARM emulator, whose
/// VMs are made real by <see cref="SshdVmHost"/>; the golden is built by the agent on the build VM's empty
/// disk and snapshotted, a volume is a disk copied from that snapshot, attached in one ARM call, and the
/// box is resumed, used, suspended and resumed again through AgentBoxRuntime.
/// </summary>
[Collection(AgentHostCollection.Name)]
public sealed class AzureBoxEndToEndTests(AgentHostFixture fixture) : IAsyncLifetime
{
    private readonly string folder = Directory.CreateTempSubdirectory("shellbox-azure-e2e-").FullName;
    private ArmEmulatorServer? emulator;
    private SshdVmHost? host;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (emulator is not null)
        {
            await emulator.DisposeAsync();
        }

        if (host is not null)
        {
            await host.DisposeAsync();
        }

        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public async Task A_box_on_an_emulated_Azure_instance_resumes_from_a_disk_copied_from_the_golden_snapshot_and_keeps_its_files()
    {
        // GIVEN the emulator with real sshd VMs, and the Azure infrastructure over it (the control key is the instances' admin key)
        var sshPort = FreeLoopbackPort(); // a port of its own: another run's VMs may hold 127.0.1.N:22
        host = new SshdVmHost(fixture.Host.Options with { DataDirectory = folder, InstanceSshPort = sshPort });
        await IdentityEnvironment.EnsureAsync();
        emulator = await ArmEmulatorServer.StartAsync(new ArmEmulatorOptions { DataDirectory = Path.Combine(folder, "arm"), VmHost = host });
        var settings = RealInstanceSettings.For(emulator, sshPort);
        var options = RealInstanceSettings.Options(emulator);
        var agent = new SshInstanceAgent("root", fixture.ControlKeyPath);
        var controlPublicKey = (await File.ReadAllTextAsync(fixture.ControlKeyPath + ".pub")).Trim();
        var infrastructure = new AzureInfrastructure(settings, AzureCredentials.Create(settings, options.Transport), agent, controlPublicKey, options);
        var store = SqlitePoolStore.Open(Path.Combine(folder, "state.db"));
        var runtime = new AgentBoxRuntime(store, agent, fixture.ControlKeyPath);

        // WHEN the golden is built through the agent, an instance and a volume are created and attached
        var golden = await infrastructure.EnsureGoldenSnapshotAsync();
        var instance = await infrastructure.CreateInstanceAsync("instance-e2e", new Dictionary<string, string>());
        var now = DateTimeOffset.UtcNow;
        await store.CommitAsync([StoreWrite.Insert(new InstanceRecord { Id = instance.InstanceId, Status = ResourceStatuses.Free, Created = now, LastUsed = now, Endpoint = instance.Endpoint, HostKey = instance.HostKey })]);
        await infrastructure.CreateVolumeAsync("volume-e2e", golden, new Dictionary<string, string>());
        await infrastructure.AttachAsync("instance-e2e", "volume-e2e", new Dictionary<string, string>());

        // THEN its box resumes (never boots), keeps a file and a process across suspend and resume, with its own host key
        var endpoint = await runtime.ResumeAsync("instance-e2e", "volume-e2e");
        Assert.StartsWith($"[{instance.Endpoint.Split(':')[0]}]:{settings.BoxSshPort} ssh-ed25519 ", endpoint.HostKey);
        Assert.DoesNotContain(fixture.GoldenBuilt.HostKey.Split(' ')[1], endpoint.HostKey);
        Assert.Equal(0, (await runtime.RunAsync(endpoint, "echo kept > /root/file; sleep 1000 </dev/null >/dev/null 2>&1 & echo $! > /tmp/pid; sync", TimeSpan.FromSeconds(30))).ExitCode);
        await runtime.SuspendAsync("instance-e2e", "volume-e2e");
        Assert.False(await runtime.IsRunningAsync("instance-e2e", "volume-e2e"));
        var resumed = await runtime.ResumeAsync("instance-e2e", "volume-e2e");
        Assert.Equal(endpoint.HostKey, resumed.HostKey);
        var check = await runtime.RunAsync(resumed, "cat /root/file; kill -0 $(cat /tmp/pid) && echo alive", TimeSpan.FromSeconds(30));
        Assert.Equal("kept\nalive", check.StdOut.Trim());

        // AND its disk follows azure.volumeSizeGB (32): 30 GiB inside the 32 GiB managed disk, beside the RAM file, sparse
        var disk = emulator.State.FindDisk("volume-e2e")!;
        Assert.Equal(settings.VolumeSizeGB, disk.DiskSizeGB);
        var rootKiB = long.Parse((await runtime.RunAsync(resumed, "df -k / | tail -1", TimeSpan.FromSeconds(30))).StdOut.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        Assert.InRange(rootKiB, 28L << 20, 30L << 20); // df of the box's root filesystem: 30 GiB less ext4's own
        using (var info = JsonDocument.Parse(await OutputOfAsync("qemu-img", "info", "--output=json", "-U", Path.Combine(disk.Folder, "box.qcow2"))))
        {
            Assert.Equal(30L << 30, info.RootElement.GetProperty("virtual-size").GetInt64());
            Assert.True(info.RootElement.GetProperty("actual-size").GetInt64() < 1L << 30, "the box's disk takes room only as it is written");
        }

        await runtime.SuspendAsync("instance-e2e", "volume-e2e");
        await infrastructure.DetachAsync("instance-e2e", "volume-e2e");
    }

    private static async Task<string> OutputOfAsync(string file, params string[] arguments)
    {
        var start = new System.Diagnostics.ProcessStartInfo(file) { RedirectStandardOutput = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return output;
    }

    private static int FreeLoopbackPort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
