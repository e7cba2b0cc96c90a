using System.Security.Cryptography;
using Shellbox.Azure.Runtime;
using Shellbox.Contracts;
using Shellbox.Core.Ports;
using Shellbox.Local.Store;

namespace Shellbox.Azure.Tests.Runtime;

/// <summary>
/// The box runtime contract for Azure, end to end: AgentBoxRuntime -> SSH.NET (pinned instance key) ->
/// a real sshd per emulated instance -> shellbox-agent -> QEMU, with volumes copied from a golden disk the
/// agent built. The same suite the Local runtime passes in-process.
/// </summary>
[Collection(AgentHostCollection.Name)]
public sealed class AgentBoxRuntimeContractTests(AgentHostFixture fixture) : BoxRuntimeContract, IAsyncLifetime
{
    private readonly string folder = Directory.CreateTempSubdirectory("shellbox-agentbox-").FullName;
    private EmulatedInstances? instances;
    private SqlitePoolStore? store;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (instances is not null)
        {
            await instances.DisposeAsync();
        }

        Directory.Delete(folder, recursive: true);
    }

    protected override Task<BoxProvider> CreateProviderAsync()
    {
        store = SqlitePoolStore.Open(Path.Combine(folder, "state.db"));
        instances = new EmulatedInstances(fixture, store, folder);
        var golden = new Core.Ports.GoldenSnapshotInfo(fixture.GoldenBuilt.Version, fixture.GoldenDisk, fixture.GoldenBuilt.Created);
        return Task.FromResult(new BoxProvider(instances, new AgentBoxRuntime(store, fixture.Agent(), fixture.ControlKeyPath), golden));
    }

    // The same instances and agent, told to run another QEMU machine (more RAM) than the golden's.
    protected override IBoxRuntime CreateRuntimeWithOtherMachine(BoxProvider provider) =>
        new AgentBoxRuntime(store!, fixture.Agent("SHELLBOX_BOX_MEMORY_MIB=320 shellbox-agent"), fixture.ControlKeyPath);

    protected override async Task CorruptSavedStateAsync(BoxProvider provider, string volumeId)
    {
        // Keep QEMU's 8-byte header ("QEVM" + version) so the file passes a glance and QEMU itself must refuse it.
        var path = Path.Combine(instances!.VolumeFolder(volumeId), "device.state");
        var bytes = await File.ReadAllBytesAsync(path);
        new Random(42).NextBytes(bytes.AsSpan(8));
        await File.WriteAllBytesAsync(path, bytes);
    }

    protected override async Task<string> DiskDigestAsync(BoxProvider provider, string volumeId)
    {
        await using var disk = File.OpenRead(Path.Combine(instances!.VolumeFolder(volumeId), "box.qcow2"));
        return Convert.ToHexString(await SHA256.HashDataAsync(disk));
    }
}
