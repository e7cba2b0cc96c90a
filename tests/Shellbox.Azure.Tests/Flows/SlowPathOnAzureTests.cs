using System.Collections.Concurrent;
using Azure.Data.Tables;
using Shellbox.Azure.Store;
using Shellbox.Azure.Tests.Arm;
using Shellbox.Azure.Tests.Store;
using Shellbox.Core.Boxes;
using Shellbox.Core.Engine;
using Shellbox.Core.Model;
using Shellbox.Core.Ports;
using Shellbox.Core.Settings;

namespace Shellbox.Azure.Tests.Flows;

/// <summary>
/// The connect's slow path (issue 10, part 4) on the Azure provider: Core's ConnectFlow over the real Table
/// store in Azurite and the real Azure SDK against the loopback ARM emulator. An empty pool makes a managed
/// disk from the golden snapshot and a VM, attaches the disk in one VM update, and the box resumes there; a
/// returning box with no free VM gets one made; at the cap nothing is made.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class SlowPathOnAzureTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private readonly string folder = Directory.CreateTempSubdirectory("shellbox-azure-slow-").FullName;
    private AzureOnEmulator azure = null!;

    public async Task InitializeAsync() => azure = await AzureOnEmulator.StartAsync();

    public async Task DisposeAsync()
    {
        await azure.DisposeAsync();
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public async Task An_empty_pool_makes_a_disk_from_the_golden_and_a_VM_for_a_new_box_and_a_VM_for_a_returning_one()
    {
        // GIVEN a golden snapshot and nothing else: no VM, no disk, an empty pool table
        await using var engine = await EngineAsync(PoolConfig.Dev);
        await engine.Infrastructure.EnsureGoldenSnapshotAsync();
        var told = new ConcurrentQueue<string>();

        // WHEN a new box connects
        var first = await new ConnectFlow(engine, new Told(told)).ConnectAsync("u1", "dev1");

        // THEN the user was told once (no measurement yet: the cloud's first figure), and the box runs on a VM made
        // for it with a disk copied from the golden at LUN 0, both tagged for its owner by the provider
        Assert.Equal(["making your box, about 180 s"], told);
        Assert.Equal("new-made", first.Trace.Path);
        var vm = azure.Emulator.State.FindVirtualMachine(first.Box.InstanceId!)!;
        Assert.Equal(first.Box.VolumeId, vm.DataDiskNamesByLun[0]);
        Assert.Equal("u1", vm.Tags[TagKeys.UserId]);
        Assert.NotNull(azure.Emulator.State.FindDisk(first.Box.VolumeId));
        var instance = await engine.Store.GetAsync<InstanceRecord>(first.Box.InstanceId!);
        Assert.Equal((ResourceStatuses.Connected, (object?)null), (instance!.Status, (object?)instance.Mark));
        Assert.Equal($"{vm.PrivateIp}:{azure.Settings.InstanceSshPort}", instance.Endpoint);

        // WHEN it leaves, another new box takes that VM, and the first comes back
        await new DisconnectFlow(engine).DisconnectAsync(first.Box.Id, first.SessionId);
        var second = await new ConnectFlow(engine).ConnectAsync("u1", "dev2");
        Assert.Equal(first.Box.InstanceId, second.Box.InstanceId);
        told.Clear();
        var back = await new ConnectFlow(engine, new Told(told)).ConnectAsync("u1", "dev1");

        // THEN a second VM is made for it (told once, now from this pool's measured slow paths) and its own disk is attached
        Assert.Equal("returning-made", back.Trace.Path);
        Assert.Single(told);
        Assert.NotEqual("making your box, about 180 s", told.Single());
        Assert.NotEqual(first.Box.InstanceId, back.Box.InstanceId);
        Assert.Equal(first.Box.VolumeId, azure.Emulator.State.FindVirtualMachine(back.Box.InstanceId!)!.DataDiskNamesByLun[0]);
        Assert.Equal(2, azure.Emulator.State.VirtualMachines.Count(v => v.Tags.GetValueOrDefault(TagKeys.Role) == ResourceRoles.Instance));
    }

    [Fact]
    public async Task At_the_instance_cap_a_new_box_is_refused_in_one_line_and_no_VM_is_made()
    {
        var oneInstance = PoolConfig.Dev with { MinFreeInstances = 1, MaxFreeInstances = 1, MaxTotalInstances = 1 };
        await using var engine = await EngineAsync(oneInstance);
        await engine.Infrastructure.EnsureGoldenSnapshotAsync();
        await new ConnectFlow(engine).ConnectAsync("u1", "dev1");
        var vms = azure.Emulator.State.VirtualMachines.Count;

        var e = await Assert.ThrowsAsync<Core.Errors.ShellboxException>(() => new ConnectFlow(engine).ConnectAsync("u1", "dev2"));

        Assert.Equal(ConnectFlow.AtCapacityErrorId, e.ErrorId);
        Assert.EndsWith("retry in 30 s.", e.Message);
        Assert.Equal(vms, azure.Emulator.State.VirtualMachines.Count);
        Assert.Null(await engine.Store.GetAsync<BoxRecord>(BoxRecord.IdFor("u1", "dev2")));
    }

    private async Task<ShellboxEngine> EngineAsync(PoolConfig pool)
    {
        var store = await TablePoolStore.OpenAsync(new TableServiceClient(azurite.ConnectionString), AzuriteFixture.NewTableName());
        var settings = new ShellboxSettings { Provider = ShellboxSettings.AzureProvider, StateDirectory = folder, Pool = pool };
        return new ShellboxEngine(settings, store, azure.Infrastructure(), new AttachedDiskRuntime(azure), TimeProvider.System, new RandomIdGenerator());
    }

    private sealed class Told(ConcurrentQueue<string> lines) : IProgress<ConnectNotice>
    {
        public void Report(ConnectNotice value) => lines.Enqueue(value.ToString());
    }

    /// <summary>
    /// Stands in for the agent's QEMU (tested with real sshd VMs in AzureBoxEndToEndTests): a box resumes only on a VM
    /// whose LUN 0 holds its disk in the emulator, so a resume before the attach, or on the wrong VM, fails.
    /// </summary>
    private sealed class AttachedDiskRuntime(AzureOnEmulator azure) : IBoxRuntime
    {
        private readonly ConcurrentDictionary<string, string> running = new(StringComparer.Ordinal);

        public Task<BoxEndpoint> ResumeAsync(string instanceId, string volumeId, CancellationToken cancellationToken = default)
        {
            var vm = azure.Emulator.State.FindVirtualMachine(instanceId) ?? throw new InvalidOperationException($"There is no VM {instanceId}.");
            if (vm.DataDiskNamesByLun.GetValueOrDefault(0) != volumeId)
            {
                throw new InvalidOperationException($"Disk {volumeId} is not attached to {instanceId}.");
            }

            running[instanceId] = volumeId;
            return Task.FromResult(new BoxEndpoint(vm.PrivateIp, azure.Settings.BoxSshPort, $"[{vm.PrivateIp}]:{azure.Settings.BoxSshPort} ssh-ed25519 AAAA", "/keys/control"));
        }

        public Task SuspendAsync(string instanceId, string volumeId, CancellationToken cancellationToken = default)
        {
            running.TryRemove(new KeyValuePair<string, string>(instanceId, volumeId));
            return Task.CompletedTask;
        }

        public Task<BoxEndpoint> ColdBootAsync(string instanceId, string volumeId, CancellationToken cancellationToken = default) =>
            throw new InvalidOperationException("A box made from the golden always has a saved state.");

        public Task<bool> IsRunningAsync(string instanceId, string volumeId, CancellationToken cancellationToken = default) =>
            Task.FromResult(running.TryGetValue(instanceId, out var v) && v == volumeId);

        public Task<BoxCommandResult> RunAsync(BoxEndpoint endpoint, string command, TimeSpan timeout, CancellationToken cancellationToken = default) =>
            Task.FromResult(new BoxCommandResult(0, "", ""));
    }
}
