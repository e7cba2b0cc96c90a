using System.Security.Cryptography;
using Shellbox.Contracts;
using Shellbox.Core.Ports;
using Shellbox.Local.Infrastructure;
using Shellbox.Local.Runtime;

namespace Shellbox.Local.Tests.Runtime;

[Collection(GoldenCollection.Name)]
public sealed class QemuBoxRuntimeContractTests(GoldenFixture golden) : BoxRuntimeContract, IAsyncLifetime
{
    private const int Slots = 3;
    private readonly TempFolder folder = new("shellbox-boxes");
    private Core.Settings.ShellboxSettings? settings;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await GoldenFixture.KillBoxesAsync(folder.Path);
        folder.Dispose();
    }

    protected override Task<BoxProvider> CreateProviderAsync()
    {
        settings = GoldenFixture.Settings(folder.Path, Slots, GoldenFixture.FreePortBlock(Slots));
        return Task.FromResult(new BoxProvider(
            new LocalInfrastructure(settings, golden.Options),
            new QemuBoxRuntime(settings, golden.Options),
            golden.Golden));
    }

    protected override IBoxRuntime CreateRuntimeWithOtherMachine(BoxProvider provider) =>
        new QemuBoxRuntime(settings!.WithLocal(settings!.Local() with { MemoryMiB = settings!.Local().MemoryMiB + 64 }), golden.Options);

    protected override async Task CorruptSavedStateAsync(BoxProvider provider, string volumeId)
    {
        // Keep QEMU's 8-byte header ("QEVM" + version) so the file passes a glance and QEMU itself must refuse it.
        var path = Path.Combine(folder.Path, "volumes", volumeId, "device.state");
        var bytes = await File.ReadAllBytesAsync(path);
        new Random(42).NextBytes(bytes.AsSpan(8));
        await File.WriteAllBytesAsync(path, bytes);
    }

    protected override async Task<string> DiskDigestAsync(BoxProvider provider, string volumeId)
    {
        await using var disk = File.OpenRead(Path.Combine(folder.Path, "volumes", volumeId, "box.qcow2"));
        return Convert.ToHexString(await SHA256.HashDataAsync(disk));
    }
}
