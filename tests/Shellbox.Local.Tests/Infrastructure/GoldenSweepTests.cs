using Shellbox.Core.Ports;
using Shellbox.Core.Settings;
using Shellbox.Local.Files;
using Shellbox.Local.Infrastructure;
using Shellbox.Local.Runtime;

namespace Shellbox.Local.Tests.Infrastructure;

/// <summary>
/// A new golden build removes the goldens it replaces that no volume uses, and keeps one a box still leans on
/// and one used less than its grace ago.
/// Each golden here is a real minimal guest in a golden folder of this test's own; the disk size is a build
/// input, so 1, 2, 3 and 4 GiB make four versions of one guest and machine.
/// </summary>
[Collection(GoldenCollection.Name)]
public sealed class GoldenSweepTests(GoldenFixture golden) : IAsyncLifetime
{
    private readonly TempFolder folder = new("shellbox-sweep");
    private readonly int port = GoldenFixture.FreePortBlock(1);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await GoldenFixture.KillBoxesAsync(folder.Combine("state"));
        folder.Dispose();
    }

    /// <summary>Goldens unused for no time at all may go: the sweep of a single state folder, nothing else sharing its goldens.</summary>
    private LocalProviderOptions Options => golden.Options with { GoldenDirectory = folder.Combine("golden"), UnusedGoldenKeptFor = TimeSpan.Zero };

    private ShellboxSettings Settings(int diskGiB)
    {
        var settings = GoldenFixture.Settings(folder.Combine("state"), 1, port);
        return settings.WithLocal(settings.Local() with { DiskGiB = diskGiB });
    }

    private Task<GoldenSnapshotInfo> BuildAsync(int diskGiB, LocalProviderOptions? options = null) =>
        new LocalInfrastructure(Settings(diskGiB), options ?? Options).EnsureGoldenSnapshotAsync();

    [Fact]
    public async Task A_new_golden_removes_an_old_one_no_volume_uses_and_keeps_one_a_box_still_resumes_on_and_one_used_within_its_grace()
    {
        // GIVEN a box suspended on golden A (resumed once, so it has its own RAM and a host key of its own)
        var goldenA = await BuildAsync(1);
        var infrastructure = new LocalInfrastructure(Settings(1), Options);
        var runtime = new QemuBoxRuntime(Settings(1), Options);
        await infrastructure.CreateInstanceAsync("instance-a", new Dictionary<string, string>());
        await infrastructure.CreateVolumeAsync("volume-a", goldenA, new Dictionary<string, string>());
        await infrastructure.AttachAsync("instance-a", "volume-a", new Dictionary<string, string>());
        await runtime.ResumeAsync("instance-a", "volume-a");
        await runtime.SuspendAsync("instance-a", "volume-a");

        // AND the work folder of a build that crashed
        var crashedBuild = Directory.CreateDirectory(folder.Combine("golden", ".build-crashed")).FullName;
        await File.WriteAllTextAsync(Path.Combine(crashedBuild, "ram.img"), "left behind");

        // WHEN golden B replaces A (no volume on B), then golden C replaces B
        var goldenB = await BuildAsync(2);
        Assert.False(Directory.Exists(crashedBuild), "the crashed build's work folder was kept");
        Assert.True(Directory.Exists(goldenA.Location), "golden A was removed while a volume leans on it");
        var goldenC = await BuildAsync(3);

        // THEN B is gone, A and C stay, and the box on A resumes and runs a command
        Assert.NotEqual(goldenA.Version, goldenB.Version);
        Assert.NotEqual(goldenB.Version, goldenC.Version);
        Assert.False(Directory.Exists(goldenB.Location), "golden B, which no volume uses, was kept");
        Assert.True(Directory.Exists(goldenA.Location), "golden A was removed while a volume leans on it");
        Assert.True(Directory.Exists(goldenC.Location));
        var left = Directory.GetDirectories(folder.Combine("golden")).Select(d => Path.GetFileName(d)).Where(n => !n.StartsWith('.'));
        Assert.Equal(new[] { goldenA.Version, goldenC.Version }.Order(StringComparer.Ordinal), left.Order(StringComparer.Ordinal));

        var endpoint = await runtime.ResumeAsync("instance-a", "volume-a");
        var ssh = await ExternalTool.TryRunAsync(
            "ssh",
            ["-i", endpoint.ControlKeyPath, "-p", endpoint.Port.ToString(), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "root@" + endpoint.Host, "echo resumed"],
            CancellationToken.None);
        Assert.True(ssh.ExitCode == 0, ssh.StdErr);
        Assert.Equal("resumed", ssh.StdOut.Trim());
        await runtime.SuspendAsync("instance-a", "volume-a");

        // AND with the default hour of grace, golden D keeps C: it was used (built) moments ago, and another
        // process sharing the golden folder may be about to clone it
        var goldenD = await BuildAsync(4, Options with { UnusedGoldenKeptFor = new LocalProviderOptions().UnusedGoldenKeptFor });
        Assert.True(Directory.Exists(goldenC.Location), "golden C, used moments ago, was removed within its grace");
        Assert.True(Directory.Exists(goldenD.Location));
    }

    [Fact]
    public async Task A_golden_that_backs_a_volume_still_being_copied_is_kept_though_no_volume_meta_names_it()
    {
        // GIVEN golden A and a volume copy cut short before its meta.json: only its disk's backing chain names A
        var goldenA = await BuildAsync(1);
        var copyInProgress = Directory.CreateDirectory(folder.Combine("state", "volumes", ".volume-b.copy-0123")).FullName;
        await ExternalTool.RunAsync(
            "qemu-img",
            ["create", "-q", "-f", "qcow2", "-b", Path.Combine(goldenA.Location, "golden.qcow2"), "-F", "qcow2", Path.Combine(copyInProgress, "box.qcow2")],
            CancellationToken.None);

        // WHEN golden B replaces it
        var goldenB = await BuildAsync(2);

        // THEN A stays, and the copy's disk still reads through it
        Assert.NotEqual(goldenA.Version, goldenB.Version);
        Assert.True(Directory.Exists(goldenA.Location), "golden A was removed while a volume copy's disk leans on it");
        var check = await ExternalTool.TryRunAsync("qemu-img", ["check", Path.Combine(copyInProgress, "box.qcow2")], CancellationToken.None);
        Assert.True(check.ExitCode == 0, check.StdErr);
    }
}
