using Shellbox.Core.Errors;
using Shellbox.Core.Ports;
using Shellbox.Local.Infrastructure;

namespace Shellbox.Local.Tests.Infrastructure;

/// <summary>A golden build that fails leaves nothing behind that a later call could take for a golden.</summary>
public sealed class GoldenBuildFailureTests : IDisposable
{
    private readonly TempFolder folder = new("shellbox-golden-fail");

    public void Dispose() => folder.Dispose();

    private LocalInfrastructure WithScript(string body)
    {
        var script = folder.Combine("build-golden.sh");
        File.WriteAllText(script, "#!/usr/bin/env bash\n" + body);
        return new LocalInfrastructure(
            GoldenFixture.Settings(folder.Combine("state"), 1, GoldenFixture.FreePortBlock(1)),
            new LocalProviderOptions { GoldenScriptPath = script, BootTimeout = TimeSpan.FromSeconds(20) });
    }

    [Fact]
    public async Task A_failing_build_script_is_reported_in_one_line_and_its_work_folder_is_removed()
    {
        var infrastructure = WithScript("""
            case " $* " in *" --print-hash "*) echo 0123456789abcdef0123456789abcdef; exit 0 ;; esac
            echo "build-golden: no candidate version for dropbear-bin" >&2; exit 1
            """);
        var progress = new List<ShellboxProgress>();

        var error = await Assert.ThrowsAsync<ShellboxException>(() => infrastructure.EnsureGoldenSnapshotAsync(new SyncProgress(progress)));

        Assert.Equal("GoldenBuildFailed", error.ErrorId);
        Assert.Contains("no candidate version for dropbear-bin", error.Message);
        Assert.NotEmpty(progress);
        Assert.Empty(Directory.GetDirectories(folder.Combine("state", "golden")));
        Assert.Null(await infrastructure.GetGoldenSnapshotAsync());
    }

    [Fact]
    public async Task A_guest_that_does_not_boot_fails_the_build_and_leaves_no_qemu_and_no_folder()
    {
        // Files in the right places, but the "kernel" is not one: QEMU refuses it.
        var infrastructure = WithScript("""
            case " $* " in *" --print-hash "*) echo fedcba9876543210fedcba9876543210; exit 0 ;; esac
            out=${@: -1}; mkdir -p "$out"
            qemu-img create -q -f qcow2 "$out/base.qcow2" 64M
            echo not-a-kernel > "$out/vmlinuz"; echo not-an-initrd > "$out/initrd.img"; echo '{}' > "$out/manifest.json"
            """);

        var error = await Assert.ThrowsAsync<ShellboxException>(() => infrastructure.EnsureGoldenSnapshotAsync());

        Assert.Equal(ShellboxErrorKind.Service, error.Kind);
        Assert.Empty(Directory.GetDirectories(folder.Combine("state", "golden")));
    }

    /// <summary>Records progress synchronously (Progress&lt;T&gt; posts to the thread pool, which races the assertions).</summary>
    private sealed class SyncProgress(List<ShellboxProgress> reports) : IProgress<ShellboxProgress>
    {
        public void Report(ShellboxProgress value) => reports.Add(value);
    }
}
