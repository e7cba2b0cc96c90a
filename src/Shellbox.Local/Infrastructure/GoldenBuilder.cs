using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Shellbox.Core.Errors;
using Shellbox.Core.Model;
using Shellbox.Core.Ports;
using Shellbox.Local.Files;
using Shellbox.Local.Qemu;
using Shellbox.Local.Ssh;
using Shellbox.Ssh;

namespace Shellbox.Local.Infrastructure;

/// <summary>
/// Makes the golden snapshot: build the guest, boot it once, wait for SSH, suspend it (RAM file + device
/// state), flatten its disk. The version is a hash of the guest's build inputs and of the machine
/// fingerprint, since the saved RAM only resumes on the machine that wrote it. Which guest (Debian or
/// minimal) and its disk size are build inputs, so they are part of the version too. A complete golden is
/// never rebuilt; a build happens in a dot-folder beside it and is renamed into place at the end, and then
/// the goldens it replaces are removed unless a volume still uses them (<see cref="GoldenSweep"/>).
/// </summary>
internal sealed class GoldenBuilder(LocalState state, LocalProviderOptions options, QemuMachine machine, GuestBuild guest, TimeProvider time)
{
    private const string Activity = "Shellbox golden snapshot";

    private LocalLayout Layout => state.Layout;

    /// <summary>
    /// The golden the last EnsureAsync of this guest and machine settled on, or null when there is none. One
    /// golden folder may hold several (the tests' cache holds the minimal and the Debian guest's), so each
    /// guest and machine has its own pointer; current.json, the last one set, is only read when that is missing.
    /// </summary>
    public GoldenSnapshotInfo? GetCurrent()
    {
        if (AtomicFile.ReadJson<CurrentGolden>(CurrentFile) is { } mine)
        {
            return TryRead(mine.Version);
        }

        var last = AtomicFile.ReadJson<CurrentGolden>(Path.Combine(Layout.GoldenRoot, LocalFiles.CurrentGolden));
        return last is not null && state.ReadGolden(Layout.Golden(last.Version)) is { } meta
            && meta.MachineFingerprint == (machine with { GuestAgent = meta.GuestAgent }).Fingerprint ? TryRead(last.Version) : null;
    }

    private string CurrentFile => Path.Combine(Layout.GoldenRoot, $"current-{guest.Guest}-{machine.Fingerprint[..12]}.json");

    /// <summary>Finds or builds the golden that authorizes this machine's control key (made first if missing).</summary>
    public async Task<GoldenSnapshotInfo> EnsureAsync(IProgress<ShellboxProgress>? progress, CancellationToken cancellationToken)
    {
        var controlKey = await ControlKey.EnsureAsync(Layout.ControlKey, cancellationToken).ConfigureAwait(false);
        return await EnsureAsync(new GoldenAccess(controlKey + ".pub", controlKey), progress, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Finds or builds the golden that authorizes <paramref name="access"/>'s public key.</summary>
    public async Task<GoldenSnapshotInfo> EnsureAsync(GoldenAccess access, IProgress<ShellboxProgress>? progress, CancellationToken cancellationToken)
    {
        progress?.Report(new ShellboxProgress(Activity, "Hashing the guest's build inputs", 0));
        var script = GoldenScript.Locate(options.GoldenScriptPath);
        var buildHash = await script.PrintHashAsync(access.AuthorizedKeyFile, guest, cancellationToken).ConfigureAwait(false);
        var version = VersionOf(buildHash, machine);

        if (TryRead(version) is { } existing)
        {
            SetCurrent(version);
            progress?.Report(new ShellboxProgress(Activity, $"{version} is up to date", 100));
            return existing;
        }

        Directory.CreateDirectory(Layout.GoldenRoot);
        using (await FolderLock.AcquireAsync(Path.Combine(Layout.GoldenRoot, ".build.lock"), options.BootTimeout + TimeSpan.FromMinutes(10), cancellationToken).ConfigureAwait(false))
        {
            // Another process may have built it while we waited for the lock.
            var found = TryRead(version);
            var built = found ?? await BuildAsync(script, access, buildHash, version, progress, cancellationToken).ConfigureAwait(false);
            SetCurrent(version);
            if (found is null)
            {
                await SweepAsync(cancellationToken).ConfigureAwait(false);
            }

            return built;
        }
    }

    /// <summary>golden-snapshot-&lt;first 12 hex of sha256(build hash, machine fingerprint)&gt;.</summary>
    public static string VersionOf(string buildHash, QemuMachine machine)
    {
        var content = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes($"{buildHash}\n{machine.Fingerprint}"))).ToLowerInvariant();
        return $"{ShellboxLimits.GoldenSnapshotPrefix}-{content[..12]}";
    }

    /// <summary>Removes the goldens the new one replaces that nothing needs; a sweep that fails costs disk space, not the build.</summary>
    private async Task SweepAsync(CancellationToken cancellationToken)
    {
        try
        {
            await new GoldenSweep(state, options.UnusedGoldenKeptFor).RunAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ShellboxException or JsonException)
        {
            Core.Observability.ShellboxLog.Dropped("Shellbox.Local.Golden", "old goldens not swept", e);
        }
    }

    private GoldenSnapshotInfo? TryRead(string version)
    {
        var folder = Layout.Golden(version);
        var meta = state.ReadGolden(folder);
        return meta is null ? null : new GoldenSnapshotInfo(meta.Version, folder, meta.Created);
    }

    private void SetCurrent(string version)
    {
        GoldenSweep.MarkUsed(Layout.Golden(version));
        foreach (var path in new[] { CurrentFile, Path.Combine(Layout.GoldenRoot, LocalFiles.CurrentGolden) })
        {
            if (AtomicFile.ReadJson<CurrentGolden>(path)?.Version != version)
            {
                AtomicFile.WriteJson(path, new CurrentGolden(version));
            }
        }
    }

    private async Task<GoldenSnapshotInfo> BuildAsync(GoldenScript script, GoldenAccess access, string buildHash, string version, IProgress<ShellboxProgress>? progress, CancellationToken cancellationToken)
    {
        var work = Path.Combine(Layout.GoldenRoot, $".build-{Guid.NewGuid().ToString("N")[..8]}"); // short: QMP socket paths are limited to 107 bytes
        var build = Path.Combine(work, "build");
        QemuRun? run = null;
        try
        {
            Directory.CreateDirectory(work);
            progress?.Report(new ShellboxProgress(Activity, $"Building the guest with {Path.GetFileName(script.Path)}", 10));
            await script.BuildAsync(access.AuthorizedKeyFile, guest, build, Path.Combine(Layout.GoldenRoot, ".packages"), cancellationToken).ConfigureAwait(false);
            var manifest = GuestManifest.Read(Path.Combine(build, LocalFiles.Manifest));
            var append = manifest.Append;
            var bootMachine = machine with { GuestAgent = manifest.GuestAgent };

            // The first boot writes to the disk (host key, ext4 state): boot an overlay, flatten it after.
            var bootDisk = Path.Combine(work, "boot.qcow2");
            await ExternalTool.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", "-b", Path.Combine(build, "base.qcow2"), "-F", "qcow2", bootDisk], cancellationToken).ConfigureAwait(false);

            progress?.Report(new ShellboxProgress(Activity, "Booting the guest once", 40));
            var port = LoopbackPorts.FindFreeBlock(1);
            var launch = new QemuLaunch(
                Name: $"shellbox-{version}",
                RamFile: Path.Combine(work, LocalFiles.Ram),
                DiskFile: bootDisk,
                Address: QemuMachine.LoopbackAddress,
                Port: port,
                ConsoleLog: Path.Combine(work, LocalFiles.Console),
                QmpSocket: LocalFiles.Socket(work, LocalFiles.Qmp),
                Kernel: Path.Combine(build, LocalFiles.Kernel),
                Initrd: Path.Combine(build, LocalFiles.Initrd),
                KernelAppend: append,
                Incoming: false,
                GuestAgentSocket: bootMachine.GuestAgent ? LocalFiles.Socket(work, LocalFiles.GuestAgent) : null);
            run = await QemuRun.StartAsync(options.QemuBinary, bootMachine, launch, work, cancellationToken).ConfigureAwait(false);
            var process = run.Process;
            if (!await SshBanner.WaitAsync(launch.Address, port, options.BootTimeout, () => process.IsAlive, cancellationToken).ConfigureAwait(false))
            {
                throw process.Failed("GoldenBootFailed", $"The golden guest did not answer SSH within {options.BootTimeout.TotalSeconds:0} s of its first boot");
            }

            // A guest that settles after sshd is up (systemd finishing its boot, then dropping its page cache)
            // says so on the console: suspended any earlier, every clone would finish that boot itself.
            if (manifest.ReadyMarker is { } marker
                && !await ConsoleLine.WaitAsync(launch.ConsoleLog, marker, options.BootTimeout, () => process.IsAlive, cancellationToken).ConfigureAwait(false))
            {
                throw process.Failed("GoldenBootFailed", $"The golden guest did not print '{marker}' on its console within {options.BootTimeout.TotalSeconds:0} s of answering SSH");
            }

            // The guest prints its host key on the console (a channel only we read); SSH must present that one.
            var consoleKey = HostKeyFromConsole(launch.ConsoleLog);
            var presented = await CheckGuestAsync(launch.Address, port, access, consoleKey, cancellationToken).ConfigureAwait(false);

            // Every clone resumes with this agent running: it must answer now, or resumes would all fall back to SSH.
            if (bootMachine.GuestAgent
                && await Qmp.GuestAgent.RunAsync(launch.GuestAgentSocket!, "/bin/true", [], TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false) != 0)
            {
                throw process.Failed("GoldenBootFailed", "The golden guest's manifest says it runs the QEMU guest agent, but the agent did not run /bin/true within 30 s");
            }

            progress?.Report(new ShellboxProgress(Activity, "Suspending the guest (RAM and device state)", 80));
            await run.SuspendAsync(Path.Combine(work, LocalFiles.DeviceState), launch.RamFile, keepProcess: false, options.SuspendTimeout, cancellationToken).ConfigureAwait(false);
            run = null;

            // Pages the guest never used or zeroed (init_on_free) need no room: clones copy the file sparsely too.
            await DigHolesAsync(launch.RamFile, cancellationToken).ConfigureAwait(false);

            progress?.Report(new ShellboxProgress(Activity, "Flattening the golden disk", 90));
            await ExternalTool.RunAsync("qemu-img", ["convert", "-O", "qcow2", bootDisk, Path.Combine(work, LocalFiles.GoldenDisk)], cancellationToken).ConfigureAwait(false);
            foreach (var file in new[] { LocalFiles.Kernel, LocalFiles.Initrd, LocalFiles.Manifest })
            {
                File.Move(Path.Combine(build, file), Path.Combine(work, file));
            }

            Directory.Delete(build, recursive: true);
            File.Delete(bootDisk);
            if (!OperatingSystem.IsWindows())
            {
                // Clones read these forever: nothing may write them again.
                foreach (var file in new[] { LocalFiles.GoldenDisk, LocalFiles.Ram, LocalFiles.DeviceState })
                {
                    File.SetUnixFileMode(Path.Combine(work, file), UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
                }
            }

            var meta = new GoldenMeta
            {
                Version = version,
                BuildHash = buildHash,
                Created = time.GetUtcNow(),
                MachineFingerprint = bootMachine.Fingerprint,
                MachineDescription = bootMachine.Description,
                KernelAppend = append,
                HostKey = presented,
                GuestAgent = bootMachine.GuestAgent,
            };
            AtomicFile.WriteJson(Path.Combine(work, LocalFiles.GoldenMeta), meta);
            var target = Layout.Golden(version);
            if (Directory.Exists(target))
            {
                Directory.Delete(target, recursive: true); // an incomplete leftover: complete ones were returned above
            }

            Directory.Move(work, target);
            AtomicFile.SyncDirectory(Layout.GoldenRoot);
            progress?.Report(new ShellboxProgress(Activity, $"{version} is ready", 100));
            return new GoldenSnapshotInfo(version, target, meta.Created);
        }
        catch
        {
            if (run is not null)
            {
                await run.KillAsync().ConfigureAwait(false);
            }

            TryDelete(work);
            throw;
        }
    }

    /// <summary>
    /// Checks the booted guest: with the control key, that it runs a command; with only its public half
    /// (an instance agent), that it presents the console's host key. Returns the host key it presented.
    /// </summary>
    private async Task<string> CheckGuestAsync(string address, int port, GoldenAccess access, string? consoleKey, CancellationToken cancellationToken)
    {
        if (access.ControlKeyPath is null)
        {
            var key = await BoxSsh.ReadHostKeyAsync(address, port, options.ResumeTimeout, cancellationToken).ConfigureAwait(false);
            return consoleKey is null || key == consoleKey
                ? key
                : throw ShellboxException.Service("GoldenBootFailed", "The golden guest presented a host key other than the one it printed on its console.");
        }

        string? presented = null;
        var check = await BoxSsh.RunAsync(address, port, access.ControlKeyPath, consoleKey is null ? null : [consoleKey], k => presented = k, "true", options.ResumeTimeout, cancellationToken).ConfigureAwait(false);
        return check.ExitCode == 0
            ? presented!
            : throw ShellboxException.Service("GoldenBootFailed", $"The golden guest answered SSH but could not run a command: {check.StdErr.Trim()}");
    }

    private static async Task DigHolesAsync(string file, CancellationToken cancellationToken)
    {
        var result = await ExternalTool.TryRunAsync("fallocate", ["--dig-holes", file], cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            // Only disk space is lost: the file reads the same.
            Core.Observability.ShellboxLog.Dropped("Shellbox.Local.Golden", $"holes of file={file} not dug", new IOException($"fallocate --dig-holes: {result.StdErr.Trim()}"), routine: true);
        }
    }

    /// <summary>The last "shellbox-hostkey: ssh-ed25519 AAAA..." line the guest printed on its console.</summary>
    public static string? HostKeyFromConsole(string consoleLog)
    {
        const string marker = "shellbox-hostkey: ";
        try
        {
            return File.ReadLines(consoleLog)
                .Where(l => l.StartsWith(marker, StringComparison.Ordinal))
                .Select(l => HostKeys.FindEd25519(l[marker.Length..]))
                .LastOrDefault(k => k is not null);
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static void TryDelete(string folder) => WorkFolder.TryDelete(folder, "Shellbox.Local.Golden");
}

/// <summary>
/// The key a golden authorizes: the public key file the guest is built with and, where this machine holds
/// it, the private control key (null on an instance agent, which is only given the public half).
/// </summary>
internal sealed record GoldenAccess(string AuthorizedKeyFile, string? ControlKeyPath);
