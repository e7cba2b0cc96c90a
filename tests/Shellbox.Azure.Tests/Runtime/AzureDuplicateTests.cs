using System.Net;
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
/// Duplicate of a suspended box on the Azure path: the volume's managed disk is copied in one ARM call (createOption
/// Copy from the source disk, the new box's tags in the same call), and the copy resumes on an emulated instance
/// through the agent with the source's files and running programs, rekeyed at that first resume.
/// </summary>
[Collection(AgentHostCollection.Name)]
public sealed class AzureDuplicateTests(AgentHostFixture fixture) : IAsyncLifetime
{
    private readonly string folder = Directory.CreateTempSubdirectory("shellbox-azure-dup-").FullName;
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
    public async Task A_suspended_box_is_copied_as_a_managed_disk_and_the_copy_resumes_with_its_files_and_programs_and_its_own_host_key()
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

        // AND a box that has been used and suspended
        var source = await runtime.ResumeAsync("instance-e2e", "volume-e2e");
        Assert.Equal(0, (await runtime.RunAsync(source, "echo kept > /root/file; sleep 1000 </dev/null >/dev/null 2>&1 & echo $! > /root/pid; sync", TimeSpan.FromSeconds(30))).ExitCode);
        await runtime.SuspendAsync("instance-e2e", "volume-e2e");
        await infrastructure.DetachAsync("instance-e2e", "volume-e2e");
        var sourceDisk = emulator.State.FindDisk("volume-e2e")!;
        var sourceTags = new Dictionary<string, string>(sourceDisk.Tags);

        // WHEN it is duplicated into volume-copy, owned by u1/cp
        var mark = emulator.Requests.Mark();
        await infrastructure.CopyVolumeAsync("volume-e2e", "volume-copy", new Dictionary<string, string> { [TagKeys.Status] = ResourceStatuses.Suspended, [TagKeys.UserId] = "u1", [TagKeys.BoxName] = "cp" });

        // THEN one ARM write made a disk copied from the source disk, tagged as the new box's volume; the source is as it was
        Assert.Equal(1, emulator.Requests.CountWritesSince(mark));
        var copy = emulator.State.FindDisk("volume-copy")!;
        Assert.Equal(("u1", "cp", ResourceRoles.Volume), (copy.Tags[TagKeys.UserId], copy.Tags[TagKeys.BoxName], copy.Tags[TagKeys.Role]));
        Assert.Equal(golden.Version, copy.Tags[TagKeys.Golden]);
        Assert.Equal("Copy", copy.CreateOption);
        Assert.EndsWith("/disks/volume-e2e", copy.SourceResourceId, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(sourceTags, emulator.State.FindDisk("volume-e2e")!.Tags);
        var again = await Assert.ThrowsAsync<Core.Errors.ShellboxException>(() => infrastructure.CopyVolumeAsync("volume-e2e", "volume-copy", new Dictionary<string, string>()));
        Assert.Equal("VolumeExists", again.ErrorId);

        // AND the copy resumes on an instance (its first resume claims the disk for it and rekeys it): same files, same programs
        await store.CommitAsync([StoreWrite.Insert(new VolumeRecord { Id = "volume-copy", Status = ResourceStatuses.Suspended, Created = now, LastUsed = now, Golden = golden.Version, UserId = "u1", BoxName = "cp", CopiedFrom = "volume-e2e" })]);
        await infrastructure.AttachAsync("instance-e2e", "volume-copy", new Dictionary<string, string>());
        var copied = await runtime.ResumeAsync("instance-e2e", "volume-copy");
        var check = await runtime.RunAsync(copied, "cat /root/file; kill -0 $(cat /root/pid) && echo alive", TimeSpan.FromSeconds(30));
        Assert.Equal("kept\nalive", check.StdOut.Trim());
        Assert.NotEqual(source.HostKey.Split(' ')[2], copied.HostKey.Split(' ')[2]);
        await runtime.SuspendAsync("instance-e2e", "volume-copy");
        Assert.Equal(copied.HostKey, (await runtime.ResumeAsync("instance-e2e", "volume-copy")).HostKey); // pinned from now on
        await runtime.SuspendAsync("instance-e2e", "volume-copy");
        await infrastructure.DetachAsync("instance-e2e", "volume-copy");
    }

    private static int FreeLoopbackPort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
