using System.Globalization;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Shellbox.Core.Errors;
using Shellbox.Core.Observability;
using Shellbox.Local.Files;
using Shellbox.Local.Infrastructure;
using Shellbox.Local.Network;
using Shellbox.Local.Qemu;
using Shellbox.Local.Qmp;
using Shellbox.Ssh;

namespace Shellbox.Local.Runtime;

/// <summary>
/// The QEMU side of one volume's box, the one implementation both hosts of a box run: the Local runtime
/// in-process, and shellbox-agent on an Azure instance. A box resumes from its volume (RAM file mapped
/// shared, device state loaded with x-ignore-shared) and never cold-boots unless asked to. The saved
/// device state is consumed by a resume: while the box runs its RAM file moves on, and only a suspend
/// writes a state that matches it again. Callers hold the run folder's lock (<see cref="RunLockAsync"/>);
/// what the box needs over SSH afterwards (clock, own host key) is <see cref="BoxGuest"/>'s, done where
/// the control key is.
/// </summary>
internal sealed class QemuBox(QemuMachine machine, LocalProviderOptions options, TimeProvider time)
{
    // Loading ~400 KB of device state takes tens of milliseconds; this only bounds a QEMU that hangs.
    private static readonly TimeSpan StateLoadTimeout = TimeSpan.FromSeconds(30);

    // A just-resumed guest agent answers in tens of milliseconds; one that does not answer soon is not running.
    private static readonly TimeSpan GuestAgentTimeout = TimeSpan.FromSeconds(2);

    // A new host key, a reseed and sshd's reload with the new key: about a second under TCG.
    private static readonly TimeSpan RekeyTimeout = TimeSpan.FromSeconds(30);

    // sshd re-executing itself takes ~0.3 s under TCG; a poll is three file commands of the agent, no process.
    private static readonly TimeSpan SshdPidPoll = TimeSpan.FromMilliseconds(25);

    public QemuMachine Machine => machine;

    /// <summary>The machine the volume's box runs on: this one, with the guest agent's port when its golden had it.</summary>
    public QemuMachine MachineFor(VolumeMeta meta) => machine with { GuestAgent = HasGuestAgent(meta) };

    // The flag, or the fingerprint of the machine that wrote the volume's state: a meta written by a copy of this code
    // that did not carry the flag still names the machine with the port.
    private bool HasGuestAgent(VolumeMeta meta) =>
        meta.GuestAgent || meta.MachineFingerprint == (machine with { GuestAgent = true }).Fingerprint;

    /// <summary>Serializes starts and stops of the box in one run folder, across processes.</summary>
    public Task<FolderLock> RunLockAsync(string runFolder, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(runFolder);
        return FolderLock.AcquireAsync(Path.Combine(runFolder, ".run.lock"), options.BootTimeout + options.SuspendTimeout, cancellationToken);
    }

    public bool IsRunning(BoxSite site) => QemuProcess.Find(site.RunFolder) is not null;

    /// <summary>
    /// Resumes the box, or finds it already running (or finishes a start a dead process left half-way),
    /// and waits until its SSH server answers.
    /// </summary>
    public Task<BoxStarted> ResumeAsync(BoxSite site, VolumeMeta meta, CancellationToken cancellationToken) =>
        ResumeAsync(site, meta, null, cancellationToken);

    /// <inheritdoc cref="ResumeAsync(BoxSite, VolumeMeta, CancellationToken)"/>
    /// <param name="settle">Set the clock (and hostname) through the guest agent instead of waiting for SSH, where it can.</param>
    public async Task<BoxStarted> ResumeAsync(BoxSite site, VolumeMeta meta, GuestSettle? settle, CancellationToken cancellationToken)
    {
        if (await QemuRun.FindAsync(site.RunFolder, cancellationToken).ConfigureAwait(false) is { } running)
        {
            var found = await FinishInterruptedStartAsync(running, site, cancellationToken).ConfigureAwait(false);
            if (found != Found.Gone)
            {
                await SlirpNetwork.EnsureAsync(running.Process, site.Address, site.Port, cancellationToken).ConfigureAwait(false);

                // Continued in place (a QEMU kept for a linger): its clock stood still while it was stopped, so it is set
                // through the agent, whose answer also proves the guest runs; no state was loaded and no SSH is waited for.
                if (found == Found.ContinuedNow && settle is not null && meta.HostKey is not null
                    && await SettleThroughAgentAsync(site, meta, setClock: true, settle.Hostname, cancellationToken).ConfigureAwait(false))
                {
                    meta = await site.UpdateMetaAsync(m => m with { LastResumed = time.GetUtcNow(), Hostname = settle.Hostname ?? m.Hostname }, cancellationToken).ConfigureAwait(false);
                    return new BoxStarted(meta, WasRunning: false, SettledByAgent: true, InPlace: true);
                }

                // A box found running that the caller names next (through its guest agent, else over SSH) needs no banner
                // probe first: that step reaches the guest itself, and the probe costs it an sshd fork (a claimed ready
                // pair's box: about 40 ms under TCG).
                if (!(found == Found.Running && settle is { Hostname: not null }))
                {
                    await WaitForSshAsync(running.Process, site, options.ResumeTimeout, killOnTimeout: false, cancellationToken).ConfigureAwait(false);
                }

                return new BoxStarted(meta, WasRunning: found == Found.Running, InPlace: found == Found.ContinuedNow);
            }
        }

        meta = await GoldenRam.EnsureCopiedAsync(site, meta, cancellationToken).ConfigureAwait(false);
        var deviceState = CheckResumable(meta, site.VolumeFolder);
        var run = await QemuRun.StartAsync(options.QemuBinary, MachineFor(meta), Launch(site, meta, incoming: true), site.RunFolder, cancellationToken).ConfigureAwait(false);
        try
        {
            await run.LoadStateAsync(deviceState, StateLoadTimeout, cancellationToken).ConfigureAwait(false);

            // From `cont` on the RAM file moves on: the old device state no longer describes it.
            File.Delete(deviceState);
            AtomicFile.SyncDirectory(site.VolumeFolder);
            await run.ContinueAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // Never leave a half-resumed QEMU behind (a failed load has already been killed).
            await run.KillAsync().ConfigureAwait(false);
            throw;
        }
        finally
        {
            await run.DisposeAsync().ConfigureAwait(false);
        }

        meta = await site.UpdateMetaAsync(m => m with { LastResumed = time.GetUtcNow() }, cancellationToken).ConfigureAwait(false);

        // Waiting for the SSH banner costs the just-resumed guest a connection nobody uses (sshd forks a child for it);
        // the guest agent's answer says as much about the box being up, and sets the clock at the same time.
        if (settle is not null && meta.HostKey is not null
            && await SettleThroughAgentAsync(site, meta, setClock: true, settle.Hostname, cancellationToken).ConfigureAwait(false))
        {
            if (settle.Hostname is { } hostname)
            {
                meta = await site.UpdateMetaAsync(m => m with { Hostname = hostname }, cancellationToken).ConfigureAwait(false);
            }

            return new BoxStarted(meta, WasRunning: false, SettledByAgent: true);
        }

        await WaitForSshAsync(run.Process, site, options.ResumeTimeout, killOnTimeout: true, cancellationToken).ConfigureAwait(false);
        return new BoxStarted(meta, WasRunning: false);
    }

    /// <summary>
    /// A clone's first resume through its guest agent: sets the clock, runs shellbox-rekey (its own host key, machine-id
    /// and entropy, from a fresh seed; <paramref name="hostname"/> when given) and pins the key it printed on the volume.
    /// Null when the box has no agent or the agent did not do it (the caller then logs in over SSH with the golden's
    /// host key). The host side of the agent's port is this machine's alone, so the key it reports needs no other proof.
    /// </summary>
    public async Task<VolumeMeta?> RekeyThroughAgentAsync(BoxSite site, VolumeMeta meta, string? hostname, CancellationToken cancellationToken)
    {
        if (!HasGuestAgent(meta))
        {
            return null;
        }

        // The clock first (SetClockAsync); then --no-wait: the script returns once it has signalled sshd, and the new
        // sshd's pid file is polled here with file commands (a poll in the guest starts a process); the hostname is
        // written meanwhile, also without a process. A golden older than the option ignores it and returns once sshd listens.
        var seed = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)).ToLowerInvariant();
        var result = await TryAgentAsync(
            site,
            "shellbox-rekey",
            async (agent, ct) =>
            {
                var rekey = await SetClockAsync(agent, ct).ConfigureAwait(false) is not 0 and var exit
                    ? new GuestAgentResult(exit, "")
                    : await GuestAgent.RunAsync(agent, "/sbin/shellbox-rekey", [seed, "", "--no-wait"], captureOutput: true, ct).ConfigureAwait(false);
                if (rekey.ExitCode == 0)
                {
                    if (hostname is not null)
                    {
                        await GuestHostname.SetAsync(agent, hostname, ct).ConfigureAwait(false);
                    }

                    await WaitForSshdPidFileAsync(agent, ct).ConfigureAwait(false);
                }

                return rekey;
            },
            RekeyTimeout,
            cancellationToken).ConfigureAwait(false);
        if (result is null)
        {
            return null;
        }

        var hostKey = HostKeys.FindEd25519(result.StdOut);
        if (hostKey is null || hostKey == meta.GoldenHostKey)
        {
            throw ShellboxException.Service("RekeyFailed", $"The box of volume '{meta.VolumeId}' made no host key of its own through its guest agent: {result.StdOut.Trim()}");
        }

        return await site.UpdateMetaAsync(m => m with { HostKey = hostKey, Hostname = hostname ?? m.Hostname }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Waits until the guest's sshd has written its pid file again: sshd removes it as it re-executes on the SIGHUP (and
    /// shellbox-rekey empties it before), and the re-executed sshd writes it once it listens with the new host key.
    /// </summary>
    private static async Task WaitForSshdPidFileAsync(GuestAgentConnection agent, CancellationToken cancellationToken)
    {
        while ((await agent.TryReadFileAsync("/run/sshd.pid", cancellationToken).ConfigureAwait(false))?.Length is null or 0)
        {
            await Task.Delay(SshdPidPoll, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The hostname the box must take: its name, when that is not its hostname yet (and can be one).</summary>
    public static string? NewHostname(VolumeMeta meta, string? boxName) => meta.Hostname != boxName ? BoxGuest.HostnameFor(boxName) : null;

    /// <summary>Gives a running box its hostname through its guest agent; false when it has none or the agent did not (the caller then uses SSH).</summary>
    public Task<bool> SetHostnameThroughAgentAsync(BoxSite site, VolumeMeta meta, string hostname, CancellationToken cancellationToken) =>
        SettleThroughAgentAsync(site, meta, setClock: false, hostname, cancellationToken);

    /// <summary>Sets the clock to now and/or the hostname through the guest agent; false when the box has none or the agent did not.</summary>
    private async Task<bool> SettleThroughAgentAsync(BoxSite site, VolumeMeta meta, bool setClock, string? hostname, CancellationToken cancellationToken)
    {
        if (!HasGuestAgent(meta))
        {
            return false;
        }

        // Every process started costs tens of ms of emulated CPU: the clock is guest-set-time where the golden made it
        // quick (GuestClock), else one program; the hostname is written with the agent's file commands, which start none.
        return await TryAgentAsync(
            site,
            setClock ? "clock" : "hostname",
            async (agent, ct) =>
            {
                if (setClock && (await SetClockAsync(agent, ct).ConfigureAwait(false)) is not 0 and var exit)
                {
                    return new GuestAgentResult(exit, "");
                }

                if (hostname is not null)
                {
                    await GuestHostname.SetAsync(agent, hostname, ct).ConfigureAwait(false);
                }

                return new GuestAgentResult(0, "");
            },
            GuestAgentTimeout,
            cancellationToken).ConfigureAwait(false) is not null;
    }

    /// <summary>Sets the guest's clock to now: guest-set-time, or `date -s` where that would be slow; the exit code of what ran.</summary>
    private async Task<int> SetClockAsync(GuestAgentConnection agent, CancellationToken cancellationToken) =>
        await GuestClock.TrySetAsync(agent, time.GetUtcNow(), cancellationToken).ConfigureAwait(false)
            ? 0
            : (await GuestAgent.RunAsync(agent, "/bin/date", ["-s", "@" + Now()], captureOutput: false, cancellationToken).ConfigureAwait(false)).ExitCode;

    /// <summary>Does STEP's WORK through the box's guest agent; its result when it ended with exit 0, else null (logged: the caller falls back to SSH).</summary>
    private static async Task<GuestAgentResult?> TryAgentAsync(BoxSite site, string step, Func<GuestAgentConnection, CancellationToken, Task<GuestAgentResult>> work, TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            var result = await GuestAgent.WithAgentAsync(LocalFiles.Socket(site.RunFolder, LocalFiles.GuestAgent), timeout, work, cancellationToken).ConfigureAwait(false);
            if (result?.ExitCode == 0)
            {
                return result;
            }

            ShellboxLog.For<QemuBox>().LogWarning(
                "volume={VolumeId} guest agent {Outcome} running {Step}; it is done over SSH",
                site.VolumeId,
                result is null ? $"did not answer within {timeout.TotalSeconds:0.#} s" : $"saw exit {result.ExitCode}",
                step);
        }
        catch (Exception e) when (e is IOException or SocketException or System.Text.Json.JsonException or InvalidOperationException or FormatException)
        {
            ShellboxLog.Dropped("Shellbox.Local.GuestAgent", $"volume={site.VolumeId} guest agent failed running {step}; it is done over SSH", e);
        }

        return null;
    }

    // Seconds since the epoch to the millisecond: what `date -s @...` takes.
    private string Now() => (time.GetUtcNow().ToUnixTimeMilliseconds() / 1000m).ToString("0.000", CultureInfo.InvariantCulture);

    /// <summary>
    /// Stops the box, saves its device state and flushes its RAM file; false when it was already suspended. With
    /// <paramref name="keepProcess"/> (a linger) QEMU stays, stopped, after the save (<see cref="IsKeptStoppedAsync"/>): a resume
    /// in place is then a `cont`; without it a QEMU kept so is ended (its state is saved already).
    /// </summary>
    public async Task<bool> SuspendAsync(BoxSite site, bool keepProcess, CancellationToken cancellationToken)
    {
        var deviceState = Path.Combine(site.VolumeFolder, LocalFiles.DeviceState);
        var run = await QemuRun.FindAsync(site.RunFolder, cancellationToken).ConfigureAwait(false);
        if (run is null)
        {
            if (File.Exists(deviceState))
            {
                return false;
            }

            throw ShellboxException.Service("BoxNotRunning", $"The box of volume '{site.VolumeId}' is not running on instance '{site.InstanceId}' and has no saved state to keep.");
        }

        await using (run.ConfigureAwait(false))
        {
            if (await IsKeptStoppedAsync(run, site, cancellationToken).ConfigureAwait(false))
            {
                if (!keepProcess)
                {
                    await run.QuitAsync(options.SuspendTimeout, cancellationToken).ConfigureAwait(false);
                }

                return false;
            }

            await run.SuspendAsync(deviceState, Path.Combine(site.VolumeFolder, LocalFiles.Ram), keepProcess, options.SuspendTimeout, cancellationToken).ConfigureAwait(false);
        }

        await site.UpdateMetaAsync(
            m => m with { LastSuspended = time.GetUtcNow(), MachineFingerprint = MachineFor(m).Fingerprint, MachineDescription = MachineFor(m).Description },
            cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// Copies the box of the site into the work folder of a new volume: a running box is paused (device state
    /// saved into the copy, RAM file and disk copied while it stands still) and goes on; a box found suspended
    /// (also one whose QEMU is kept stopped for a linger) is copied as it rests. Returns whether it was running
    /// (the copy's state was then written by this machine).
    /// </summary>
    public async Task<bool> CopyAsync(BoxSite site, string work, CancellationToken cancellationToken)
    {
        var run = await QemuRun.FindAsync(site.RunFolder, cancellationToken).ConfigureAwait(false);
        if (run is null)
        {
            await VolumeCopy.CopyFilesAsync(site.VolumeFolder, work, deviceState: true, cancellationToken).ConfigureAwait(false);
            return false;
        }

        await using (run.ConfigureAwait(false))
        {
            if (await IsKeptStoppedAsync(run, site, cancellationToken).ConfigureAwait(false))
            {
                await VolumeCopy.CopyFilesAsync(site.VolumeFolder, work, deviceState: true, cancellationToken).ConfigureAwait(false);
                return false;
            }

            var status = await run.StatusAsync(cancellationToken).ConfigureAwait(false);
            if (status != "running")
            {
                throw ShellboxException.Service("BoxBusy", $"The box of volume '{site.VolumeId}' is {status}, not running; try the copy again shortly.");
            }

            await run.CheckpointAsync(
                Path.Combine(work, LocalFiles.DeviceState),
                () => VolumeCopy.CopyFilesAsync(site.VolumeFolder, work, deviceState: false, cancellationToken),
                options.SuspendTimeout,
                cancellationToken).ConfigureAwait(false);
        }

        return true;
    }

    /// <summary>
    /// Boots the box from its disk because its saved state is known to be lost: the stale RAM file and
    /// device state are deleted first (old RAM over a changed disk would corrupt its filesystem). Running
    /// programs are gone; files on the disk stay. Never called on the resume path.
    /// </summary>
    public async Task<BoxStarted> ColdBootAsync(BoxSite site, VolumeMeta meta, CancellationToken cancellationToken)
    {
        if (QemuProcess.Find(site.RunFolder) is not null)
        {
            throw new ShellboxException(ShellboxErrorKind.Conflict, "BoxRunning", $"The box of volume '{site.VolumeId}' is running on instance '{site.InstanceId}'; it needs no cold boot.");
        }

        File.Delete(Path.Combine(site.VolumeFolder, LocalFiles.DeviceState));
        File.Delete(Path.Combine(site.VolumeFolder, LocalFiles.Ram));
        AtomicFile.SyncDirectory(site.VolumeFolder);

        var consoleLog = Path.Combine(site.RunFolder, LocalFiles.Console);
        var consoleStart = FileLength(consoleLog);
        var run = await QemuRun.StartAsync(options.QemuBinary, MachineFor(meta), Launch(site, meta, incoming: false), site.RunFolder, cancellationToken).ConfigureAwait(false);
        await run.DisposeAsync().ConfigureAwait(false);
        await WaitForSshAsync(run.Process, site, options.BootTimeout, killOnTimeout: true, cancellationToken).ConfigureAwait(false);

        // A boot prints the host key on the console; it is the box's unless it never had its own yet.
        var bootKey = HostKeyPrintedSince(consoleLog, consoleStart)
            ?? throw run.Process.Failed("HostKeyUnknown", "The cold-booted box printed no host key on its console");
        meta = await site.UpdateMetaAsync(
            m => m with
            {
                MachineFingerprint = MachineFor(m).Fingerprint,
                MachineDescription = MachineFor(m).Description,
                GoldenHostKey = m.HostKey is null ? bootKey : m.GoldenHostKey,
                HostKey = m.HostKey is null ? null : bootKey,
                LastResumed = time.GetUtcNow(),
            },
            cancellationToken).ConfigureAwait(false);
        return new BoxStarted(meta, WasRunning: false);
    }

    /// <summary>The QEMU command line parts for the box (internal for crash-recovery tests).</summary>
    public QemuLaunch Launch(BoxSite site, VolumeMeta meta, bool incoming)
    {
        // Relative to the volume: an instance's data disk carries its golden's boot files itself (".").
        var golden = Path.GetFullPath(Path.Combine(site.VolumeFolder, meta.GoldenLocation));
        var goldenMeta = AtomicFile.ReadJson<GoldenMeta>(Path.Combine(golden, LocalFiles.GoldenMeta))
            ?? throw ShellboxException.Service("GoldenNotFound", $"The golden snapshot '{meta.Golden}' that volume '{meta.VolumeId}' was cloned from is gone from {golden}.");
        return new QemuLaunch(
            Name: $"shellbox-{site.InstanceId}",
            RamFile: Path.Combine(site.VolumeFolder, LocalFiles.Ram),
            DiskFile: Path.Combine(site.VolumeFolder, LocalFiles.Disk),
            Address: site.Address,
            Port: site.Port,
            ConsoleLog: Path.Combine(site.RunFolder, LocalFiles.Console),
            QmpSocket: LocalFiles.Socket(site.RunFolder, LocalFiles.Qmp),
            Kernel: Path.Combine(golden, LocalFiles.Kernel),
            Initrd: Path.Combine(golden, LocalFiles.Initrd),
            KernelAppend: goldenMeta.KernelAppend,
            Incoming: incoming,
            DnsServers: options.BoxDnsServers,
            GuestAgentSocket: HasGuestAgent(meta) ? LocalFiles.Socket(site.RunFolder, LocalFiles.GuestAgent) : null);
    }

    /// <summary>Refuses, before QEMU starts, a state that cannot be resumed here; returns the device state file.</summary>
    private string CheckResumable(VolumeMeta meta, string volume)
    {
        if (meta.MachineFingerprint != MachineFor(meta).Fingerprint)
        {
            throw new MachineMismatchException(
                $"Volume '{meta.VolumeId}' was suspended by another QEMU machine ({meta.MachineDescription}) than this one ({MachineFor(meta).Description}); resume it with the settings it was made with, or boot it fresh from its disk (its running programs are lost).");
        }

        var deviceState = Path.Combine(volume, LocalFiles.DeviceState);
        if (!File.Exists(deviceState))
        {
            throw new SavedStateMissingException(
                $"Volume '{meta.VolumeId}' has no saved state: its box stopped without a suspend. Its disk is intact; only a cold boot can start it (its running programs are lost).");
        }

        try
        {
            QemuRun.CheckStateFile(deviceState);
        }
        catch (IOException e)
        {
            throw new SavedStateCorruptException($"Volume '{meta.VolumeId}' has a corrupt saved state ({deviceState}); the box was not started and its disk is untouched.", e);
        }

        var ram = Path.Combine(volume, LocalFiles.Ram);
        var ramSize = File.Exists(ram) ? new FileInfo(ram).Length : -1;
        if (ramSize != machine.RamBytes)
        {
            // QEMU would silently create a missing RAM file, and the guest would die on zeroed memory.
            throw ShellboxException.Service("RamFileInvalid", $"Volume '{meta.VolumeId}' has {(ramSize < 0 ? "no RAM file" : $"a RAM file of {ramSize} bytes, not {machine.RamBytes}")}; the box was not started.");
        }

        return deviceState;
    }

    /// <summary>
    /// A QEMU kept after its box was suspended for a linger (<see cref="SuspendAsync"/>): stopped after the finished
    /// migration, with the state it saved in place on the volume. Its RAM file, disk and saved state agree.
    /// </summary>
    internal static async Task<bool> IsKeptStoppedAsync(QemuRun run, BoxSite site, CancellationToken cancellationToken) =>
        File.Exists(Path.Combine(site.VolumeFolder, LocalFiles.DeviceState))
        && await run.StatusAsync(cancellationToken).ConfigureAwait(false) == "postmigrate";

    /// <summary>
    /// Brings a QEMU found running for the box to "running" when that is safe, and says whether it
    /// is; a QEMU that never finished loading its state is killed, so the caller resumes afresh.
    /// </summary>
    private enum Found
    {
        Running,
        ContinuedNow,
        Gone,
    }

    private static async Task<Found> FinishInterruptedStartAsync(QemuRun run, BoxSite site, CancellationToken cancellationToken)
    {
        await using (run.ConfigureAwait(false))
        {
            switch (await run.StatusAsync(cancellationToken).ConfigureAwait(false))
            {
                case "running":
                    return Found.Running;
                case "paused" or "postmigrate":
                    // State loaded but never continued, a suspend that never quit, or a QEMU kept stopped for a linger:
                    // RAM and devices are consistent. Any saved state file is stale from here on, as after every resume.
                    File.Delete(Path.Combine(site.VolumeFolder, LocalFiles.DeviceState));
                    AtomicFile.SyncDirectory(site.VolumeFolder);
                    await run.ContinueAsync(cancellationToken).ConfigureAwait(false);
                    return Found.ContinuedNow;
                case "inmigrate" or "prelaunch":
                    // Still waiting for its state: the state file is untouched, start over.
                    await run.KillAsync().ConfigureAwait(false);
                    return Found.Gone;
                case var status:
                    await run.KillAsync().ConfigureAwait(false);
                    throw ShellboxException.Service("BoxFailed", $"The box of volume '{site.VolumeId}' had stopped ({status}); its running state is lost and only a cold boot can start it.");
            }
        }
    }

    private static async Task WaitForSshAsync(QemuProcess process, BoxSite site, TimeSpan timeout, bool killOnTimeout, CancellationToken cancellationToken)
    {
        if (await SshBanner.WaitAsync(site.Address, site.Port, timeout, () => process.IsAlive, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        var error = process.IsAlive
            ? process.Failed("BoxNotAnswering", $"The box did not answer SSH on {site.Address}:{site.Port} within {timeout.TotalSeconds:0} s; see its console log {process.ConsoleLog}")
            : process.Failed("BoxExited", $"QEMU exited before the box answered SSH on {site.Address}:{site.Port}; see its console log {process.ConsoleLog}");
        if (killOnTimeout)
        {
            await process.KillAsync().ConfigureAwait(false);
        }

        throw error;
    }

    private static long FileLength(string path) => File.Exists(path) ? new FileInfo(path).Length : 0;

    private static string? HostKeyPrintedSince(string consoleLog, long offset)
    {
        const string marker = "shellbox-hostkey: ";
        using var stream = new FileStream(consoleLog, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        stream.Seek(Math.Min(offset, stream.Length), SeekOrigin.Begin);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Split('\n')
            .Select(l => l.IndexOf(marker, StringComparison.Ordinal) is var i and >= 0 ? HostKeys.FindEd25519(l[(i + marker.Length)..]) : null)
            .LastOrDefault(k => k is not null);
    }
}

/// <summary>
/// Where one box runs: its volume folder (box.qcow2 ram.img device.state meta.json), its run folder (qemu.pid
/// qmp.sock console.log), the address and port its SSH server is forwarded to, and how its meta.json changes.
/// </summary>
internal sealed record BoxSite(
    string InstanceId,
    string VolumeId,
    string VolumeFolder,
    string RunFolder,
    string Address,
    int Port,
    Func<Func<VolumeMeta, VolumeMeta>, CancellationToken, Task<VolumeMeta>> UpdateMetaAsync);

/// <summary>A box whose SSH server answers; <see cref="WasRunning"/> when it was running before the call (its clock kept time).</summary>
/// <param name="SettledByAgent">The box's guest agent set its clock (and the hostname asked for): it needs no SSH login for that.</param>
/// <param name="InPlace">Its QEMU was found stopped and continued (kept for a linger): connections to it, such as a control master, lived on.</param>
internal sealed record BoxStarted(VolumeMeta Meta, bool WasRunning, bool SettledByAgent = false, bool InPlace = false);

/// <summary>
/// Asks a resume to set the box's clock, and <paramref name="Hostname"/> when given, through its guest agent in place
/// of waiting for its SSH banner (a guest agent that answers proves the guest runs; a client's ssh waits for the
/// banner itself), where the box has an agent and its own host key.
/// </summary>
internal sealed record GuestSettle(string? Hostname);
