using Shellbox.Core.Model;
using Shellbox.Core.Ports;
using Shellbox.Local.Infrastructure;

namespace Shellbox.Local.Tests.Guest;

/// <summary>
/// The Debian golden snapshot (the guest users get), built once and cached by content hash in
/// &lt;repo&gt;/.cache/golden beside the minimal one the other tests boot, with the same control key.
/// </summary>
public sealed class DebianGoldenFixture : IAsyncLifetime
{
    public const int MemoryMiB = 512;

    public LocalProviderOptions Options { get; } = new GoldenFixture().Options;

    public GoldenSnapshotInfo Golden { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        using var state = new TempFolder("shellbox-debian-golden");
        var infrastructure = new LocalInfrastructure(Settings(state.Path, 1, GoldenFixture.FreePortBlock(1)), Options);
        Golden = await infrastructure.EnsureGoldenSnapshotAsync();
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public static Core.Settings.ShellboxSettings Settings(string stateDirectory, int slots, int basePort) =>
        GoldenFixture.Settings(stateDirectory, slots, basePort, MemoryMiB, GuestKinds.Debian);
}

[CollectionDefinition(Name)]
public sealed class DebianGuestCollection : ICollectionFixture<DebianGoldenFixture>
{
    public const string Name = "Debian golden snapshot and real QEMU boxes";
}
