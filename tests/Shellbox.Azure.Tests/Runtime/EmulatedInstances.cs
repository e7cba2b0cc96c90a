using Shellbox.Core.Model;
using Shellbox.Core.Ports;

namespace Shellbox.Azure.Tests.Runtime;

/// <summary>
/// Instances and volumes as the Azure runtime meets them, laid out by the test: an instance is an emulated
/// VM (a real sshd running the agent) recorded in the pool store with its address and pinned host key, as
/// the Azure infrastructure records it at creation; a volume is a copy of the golden data disk's folder (a
/// disk copied from the golden snapshot); attach points the VM's LUN 0 at it. Only what the runtime
/// contract uses is here.
/// </summary>
internal sealed class EmulatedInstances(AgentHostFixture fixture, IPoolStore store, string folder) : IInfrastructure, IAsyncDisposable
{
    private readonly string prefix = fixture.NewPrefix();
    private readonly List<string> vms = [];

    public string VolumeFolder(string volumeId) => Path.Combine(folder, "volumes", volumeId);

    public string VmName(string instanceId) => $"{prefix}-{instanceId}";

    public async Task<InstanceInfo> CreateInstanceAsync(string instanceId, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken = default)
    {
        var vm = await fixture.StartVmAsync(VmName(instanceId));
        lock (vms)
        {
            vms.Add(vm.Name);
        }

        var endpoint = $"{vm.Address.Host}:{vm.Address.Port}";
        var now = DateTimeOffset.UtcNow;
        await store.CommitAsync(
            [StoreWrite.Insert(new InstanceRecord { Id = instanceId, Status = ResourceStatuses.Free, Created = now, LastUsed = now, Endpoint = endpoint, HostKey = vm.Address.HostKey })],
            cancellationToken);
        return new InstanceInfo(instanceId, endpoint, vm.Address.HostKey);
    }

    public Task CreateVolumeAsync(string volumeId, GoldenSnapshotInfo golden, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(Path.Combine(folder, "volumes"));
        return AgentHostFixture.RunAsync("cp", "-r", "--sparse=always", "--reflink=auto", golden.Location, VolumeFolder(volumeId));
    }

    public Task AttachAsync(string instanceId, string volumeId, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken = default) =>
        fixture.Host.DataDisksChangedAsync(VmName(instanceId), new Dictionary<int, string> { [0] = VolumeFolder(volumeId) }, cancellationToken);

    public Task DetachAsync(string instanceId, string volumeId, CancellationToken cancellationToken = default) =>
        fixture.Host.DataDisksChangedAsync(VmName(instanceId), new Dictionary<int, string>(), cancellationToken);

    public Task<IReadOnlyList<InventoryItem>> ListAsync(string role, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<GoldenSnapshotInfo?> GetGoldenSnapshotAsync(CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<GoldenSnapshotInfo> EnsureGoldenSnapshotAsync(IProgress<ShellboxProgress>? progress = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task DeleteInstanceAsync(string instanceId, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task DeleteVolumeAsync(string volumeId, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task DeleteBoxVolumeAsync(string volumeId, string userId, string boxName, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task TagVolumeAsync(string volumeId, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    /// <summary>Stops this provider's VMs, and with them any box their agent left running.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var vm in vms)
        {
            await fixture.Host.StopAsync(vm, CancellationToken.None);
        }
    }
}
