using Shellbox.Core.Model;
using Shellbox.Core.Ports;
using Shellbox.Core.Settings;
using Shellbox.Local.Infrastructure;
using Shellbox.Local.Qemu;

namespace Shellbox.Local.Tests;

/// <summary>
/// The golden snapshot of a test run, built once and cached by content hash in &lt;repo&gt;/.cache/golden
/// (with the control key it authorizes in &lt;repo&gt;/.cache/keys), so a later run finds it ready.
/// </summary>
public sealed class GoldenFixture : IAsyncLifetime
{
    public GoldenFixture()
    {
        var cache = Path.Combine(RepositoryRoot(), ".cache");
        Options = new LocalProviderOptions
        {
            GoldenDirectory = Path.Combine(cache, "golden"),
            KeyDirectory = Path.Combine(cache, "keys"),
        };
    }

    public LocalProviderOptions Options { get; }

    public GoldenSnapshotInfo Golden { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        using var state = new TempFolder("shellbox-golden");
        var infrastructure = new LocalInfrastructure(Settings(state.Path, 1, FreePortBlock(1)), Options);
        Golden = await infrastructure.EnsureGoldenSnapshotAsync();
    }

    public Task DisposeAsync() => Task.CompletedTask;

    /// <summary>
    /// Settings over <paramref name="stateDirectory"/> with <paramref name="slots"/> slots from <paramref name="basePort"/>,
    /// on the minimal guest: these tests boot many boxes (DebianGuestTests and the end-to-end tests use the Debian one).
    /// </summary>
    public static ShellboxSettings Settings(string stateDirectory, int slots, int basePort, int memoryMiB = 256, string guest = GuestKinds.Minimal) => new ShellboxSettings
    {
        Provider = ShellboxSettings.LocalProvider,
        StateDirectory = stateDirectory,
        Pool = PoolConfig.Dev,
    }.WithLocal(new LocalProviderSettings { Guest = guest, MaxSlots = slots, BasePort = basePort, MemoryMiB = memoryMiB });

    /// <summary>The first port of <paramref name="count"/> consecutive loopback ports that are free now (below the ephemeral range).</summary>
    public static int FreePortBlock(int count) => Ssh.LoopbackPorts.FindFreeBlock(count);

    /// <summary>Kills every QEMU still running for an instance under <paramref name="stateDirectory"/> (a failed test's leftovers).</summary>
    public static async Task KillBoxesAsync(string stateDirectory)
    {
        var instances = Path.Combine(stateDirectory, "instances");
        if (!Directory.Exists(instances))
        {
            return;
        }

        foreach (var folder in Directory.EnumerateDirectories(instances))
        {
            if (QemuProcess.Find(folder) is { } qemu)
            {
                await qemu.KillAsync();
            }
        }
    }

    public static string RepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "Shellbox.PowerShell.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException($"No Shellbox.PowerShell.sln above {AppContext.BaseDirectory}.");
    }
}

[CollectionDefinition(Name)]
public sealed class GoldenCollection : ICollectionFixture<GoldenFixture>
{
    public const string Name = "Golden snapshot and real QEMU boxes";
}
