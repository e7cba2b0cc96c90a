using System.Globalization;
using System.Security.Cryptography;
using Shellbox.Core.Errors;
using Shellbox.Core.Ports;
using Shellbox.Core.Settings;
using Shellbox.Local.Files;
using Shellbox.Local.Infrastructure;
using Shellbox.Local.Qemu;
using Shellbox.Local.Ssh;

namespace Shellbox.Local.Runtime;

/// <summary>
/// Boxes as QEMU processes on this machine. A box resumes from its volume (RAM file mapped shared,
/// device state loaded with x-ignore-shared), never cold-boots unless asked to with
/// <see cref="ColdBootAsync"/>. The saved device state is consumed by a resume: while the box runs, its
/// RAM file moves on, and only a suspend writes a state that matches it again.
/// </summary>
public sealed class QemuBoxRuntime : IBoxRuntime
{
    private const string Host = "127.0.0.1";
    private static readonly TimeSpan GuestCommandTimeout = TimeSpan.FromSeconds(30);

    // Loading ~400 KB of device state takes tens of milliseconds; this only bounds a QEMU that hangs.
    private static readonly TimeSpan StateLoadTimeout = TimeSpan.FromSeconds(30);

    private readonly LocalState state;
    private readonly LocalProviderOptions options;
    private readonly QemuMachine machine;
    private readonly TimeProvider time;

    public QemuBoxRuntime(ShellboxSettings settings, LocalProviderOptions? options = null, TimeProvider? time = null)
    {
        this.options = options ?? new LocalProviderOptions();
        this.time = time ?? TimeProvider.System;
        state = new LocalState(new LocalLayout(settings, this.options));
        machine = QemuMachine.Create(LocalProviderSettings.From(settings).MemoryMiB, this.options.Accelerator);
    }

    /// <summary>The private key the control plane logs in to boxes with.</summary>
    public string ControlKeyPath => state.Layout.ControlKey;

    public async Task<BoxEndpoint> ResumeAsync(string instanceId, string volumeId, CancellationToken cancellationToken = default)
    {
        var (slot, meta) = Attached(instanceId, volumeId);
        var runFolder = state.Layout.Instance(instanceId);
        using var _ = await RunLockAsync(runFolder, cancellationToken).ConfigureAwait(false);
        (slot, meta) = Attached(instanceId, volumeId); // again under the lock: another process may have just resumed it

        if (await QemuRun.FindAsync(runFolder, cancellationToken).ConfigureAwait(false) is { } running)
        {
            // Already resumed (by us or another process), or left half-way by a process that died.
            var found = await FinishInterruptedStartAsync(running, volumeId, state.Layout.Volume(volumeId), cancellationToken).ConfigureAwait(false);
            if (found != Found.Gone)
            {
                await WaitForSshAsync(running.Process, slot.Port, options.ResumeTimeout, killOnTimeout: false, cancellationToken).ConfigureAwait(false);

                // A box that was already running had its clock set when it resumed and has kept time since.
                return found == Found.Running && meta.HostKey is { } pinned
                    ? new BoxEndpoint(Host, slot.Port, HostKeys.KnownHostsLine(Host, slot.Port, pinned), ControlKeyPath)
                    : await AfterStartAsync(slot, meta, cancellationToken).ConfigureAwait(false);
            }
        }

        var volume = state.Layout.Volume(volumeId);
        var deviceState = CheckResumable(meta, volume);
        var run = await QemuRun.StartAsync(options.QemuBinary, machine, Launch(instanceId, slot, meta, incoming: true), runFolder, cancellationToken).ConfigureAwait(false);
        try
        {
            await run.LoadStateAsync(deviceState, StateLoadTimeout, cancellationToken).ConfigureAwait(false);

            // From `cont` on the RAM file moves on: the old device state no longer describes it.
            File.Delete(deviceState);
            AtomicFile.SyncDirectory(volume);
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

        meta = await state.UpdateVolumeAsync(volumeId, m => m with { LastResumed = time.GetUtcNow() }, cancellationToken).ConfigureAwait(false);
        await WaitForSshAsync(run.Process, slot.Port, options.ResumeTimeout, killOnTimeout: true, cancellationToken).ConfigureAwait(false);
        return await AfterStartAsync(slot, meta, cancellationToken).ConfigureAwait(false);
    }

    public async Task SuspendAsync(string instanceId, string volumeId, CancellationToken cancellationToken = default)
    {
        Attached(instanceId, volumeId);
        var runFolder = state.Layout.Instance(instanceId);
        var volume = state.Layout.Volume(volumeId);
        using var _ = await RunLockAsync(runFolder, cancellationToken).ConfigureAwait(false);
        var run = await QemuRun.FindAsync(runFolder, cancellationToken).ConfigureAwait(false);
        if (run is null)
        {
            if (File.Exists(Path.Combine(volume, LocalFiles.DeviceState)))
            {
                return; // already suspended
            }

            throw ShellboxException.Service("BoxNotRunning", $"The box of volume '{volumeId}' is not running on instance '{instanceId}' and has no saved state to keep.");
        }

        await using (run.ConfigureAwait(false))
        {
            await run.SuspendAsync(Path.Combine(volume, LocalFiles.DeviceState), Path.Combine(volume, LocalFiles.Ram), options.SuspendTimeout, cancellationToken).ConfigureAwait(false);
        }

        await state.UpdateVolumeAsync(
            volumeId,
            m => m with { LastSuspended = time.GetUtcNow(), MachineFingerprint = machine.Fingerprint, MachineDescription = machine.Description },
            cancellationToken).ConfigureAwait(false);
    }

    public Task<bool> IsRunningAsync(string instanceId, string volumeId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var slot = state.ReadSlot(instanceId);
        return Task.FromResult(slot?.VolumeId == volumeId && QemuProcess.Find(state.Layout.Instance(instanceId)) is not null);
    }

    public Task<BoxCommandResult> RunAsync(BoxEndpoint endpoint, string command, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        BoxSsh.RunAsync(endpoint.Host, endpoint.Port, endpoint.ControlKeyPath, [HostKeys.FromKnownHostsLine(endpoint.HostKey)], null, command, timeout, cancellationToken);

    /// <summary>
    /// Boots the box from its disk because its saved state is known to be lost: the stale RAM file and
    /// device state are deleted first (old RAM over a changed disk would corrupt its filesystem). Running
    /// programs are gone; files on the disk stay. Never called on the resume path.
    /// </summary>
    public async Task<BoxEndpoint> ColdBootAsync(string instanceId, string volumeId, CancellationToken cancellationToken = default)
    {
        var (slot, meta) = Attached(instanceId, volumeId);
        var runFolder = state.Layout.Instance(instanceId);
        var volume = state.Layout.Volume(volumeId);
        using var _ = await RunLockAsync(runFolder, cancellationToken).ConfigureAwait(false);
        (slot, meta) = Attached(instanceId, volumeId); // again under the lock: another process may have just resumed it
        if (QemuProcess.Find(runFolder) is not null)
        {
            throw new ShellboxException(ShellboxErrorKind.Conflict, "BoxRunning", $"The box of volume '{volumeId}' is running on instance '{instanceId}'; it needs no cold boot.");
        }

        File.Delete(Path.Combine(volume, LocalFiles.DeviceState));
        File.Delete(Path.Combine(volume, LocalFiles.Ram));
        AtomicFile.SyncDirectory(volume);

        var consoleStart = FileLength(Path.Combine(runFolder, LocalFiles.Console));
        var run = await QemuRun.StartAsync(options.QemuBinary, machine, Launch(instanceId, slot, meta, incoming: false), runFolder, cancellationToken).ConfigureAwait(false);
        await run.DisposeAsync().ConfigureAwait(false);
        await WaitForSshAsync(run.Process, slot.Port, options.BootTimeout, killOnTimeout: true, cancellationToken).ConfigureAwait(false);

        // A boot prints the host key on the console; it is the box's unless it never had its own yet.
        var bootKey = HostKeyPrintedSince(Path.Combine(runFolder, LocalFiles.Console), consoleStart)
            ?? throw run.Process.Failed("HostKeyUnknown", "The cold-booted box printed no host key on its console");
        meta = await state.UpdateVolumeAsync(
            volumeId,
            m => m with
            {
                MachineFingerprint = machine.Fingerprint,
                MachineDescription = machine.Description,
                GoldenHostKey = m.HostKey is null ? bootKey : m.GoldenHostKey,
                HostKey = m.HostKey is null ? null : bootKey,
                LastResumed = time.GetUtcNow(),
            },
            cancellationToken).ConfigureAwait(false);
        return await AfterStartAsync(slot, meta, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Refuses, before QEMU starts, a state that cannot be resumed here; returns the device state file.</summary>
    private string CheckResumable(VolumeMeta meta, string volume)
    {
        if (meta.MachineFingerprint != machine.Fingerprint)
        {
            throw ShellboxException.User(
                "MachineMismatch",
                $"Volume '{meta.VolumeId}' was suspended by another QEMU machine ({meta.MachineDescription}) than this one ({machine.Description}); resume it with the settings it was made with, or cold boot it (its running programs are lost).");
        }

        var deviceState = Path.Combine(volume, LocalFiles.DeviceState);
        if (!File.Exists(deviceState))
        {
            throw ShellboxException.Service(
                "SavedStateMissing",
                $"Volume '{meta.VolumeId}' has no saved state: its box stopped without a suspend. Its disk is intact; only a cold boot can start it (its running programs are lost).");
        }

        try
        {
            QemuRun.CheckStateFile(deviceState);
        }
        catch (IOException)
        {
            throw ShellboxException.Service("DeviceStateInvalid", $"Volume '{meta.VolumeId}' has a corrupt saved state ({deviceState}); the box was not started and its disk is untouched.");
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
    /// Brings a QEMU found running for the instance to "running" when that is safe, and says whether it
    /// is; a QEMU that never finished loading its state is killed, so the caller resumes afresh.
    /// </summary>
    private enum Found
    {
        Running,
        ContinuedNow,
        Gone,
    }

    private static async Task<Found> FinishInterruptedStartAsync(QemuRun run, string volumeId, string volumeFolder, CancellationToken cancellationToken)
    {
        await using (run.ConfigureAwait(false))
        {
            switch (await run.StatusAsync(cancellationToken).ConfigureAwait(false))
            {
                case "running":
                    return Found.Running;
                case "paused" or "postmigrate":
                    // State loaded but never continued, or a suspend that never quit: RAM and devices are consistent.
                    // Any saved state file is stale from here on, as after every resume.
                    File.Delete(Path.Combine(volumeFolder, LocalFiles.DeviceState));
                    AtomicFile.SyncDirectory(volumeFolder);
                    await run.ContinueAsync(cancellationToken).ConfigureAwait(false);
                    return Found.ContinuedNow;
                case "inmigrate" or "prelaunch":
                    // Still waiting for its state: the state file is untouched, start over.
                    await run.KillAsync().ConfigureAwait(false);
                    return Found.Gone;
                case var status:
                    await run.KillAsync().ConfigureAwait(false);
                    throw ShellboxException.Service("BoxFailed", $"The box of volume '{volumeId}' had stopped ({status}); its running state is lost and only a cold boot can start it.");
            }
        }
    }

    /// <summary>
    /// After the box answers SSH: at its first resume, give it its own host key and fresh entropy (every
    /// clone starts with the golden's); every time, set its clock, which stood still while it was suspended.
    /// </summary>
    private async Task<BoxEndpoint> AfterStartAsync(SlotFile slot, VolumeMeta meta, CancellationToken cancellationToken)
    {
        var setClock = $"date -s @{time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)} >/dev/null";
        var hostKey = meta.HostKey;
        if (hostKey is null)
        {
            var seed = Convert.ToHexString(RandomNumberGenerator.GetBytes(32)).ToLowerInvariant();
            var rekey = await BoxSsh.RunAsync(Host, slot.Port, ControlKeyPath, [meta.GoldenHostKey], null, $"{setClock}; /sbin/shellbox-rekey {seed}", GuestCommandTimeout, cancellationToken).ConfigureAwait(false);
            hostKey = rekey.ExitCode == 0 ? HostKeys.FindEd25519(rekey.StdOut) : null;
            if (hostKey is null || hostKey == meta.GoldenHostKey)
            {
                throw ShellboxException.Service("RekeyFailed", $"The box of volume '{meta.VolumeId}' could not make its own host key (exit {rekey.ExitCode}): {rekey.StdErr.Trim()}");
            }

            var pinned = hostKey;
            await state.UpdateVolumeAsync(meta.VolumeId, m => m with { HostKey = pinned }, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var clock = await BoxSsh.RunAsync(Host, slot.Port, ControlKeyPath, [hostKey], null, setClock, GuestCommandTimeout, cancellationToken).ConfigureAwait(false);
            if (clock.ExitCode != 0)
            {
                throw ShellboxException.Service("ClockNotSet", $"The box of volume '{meta.VolumeId}' refused to set its clock: {clock.StdErr.Trim()}");
            }
        }

        return new BoxEndpoint(Host, slot.Port, HostKeys.KnownHostsLine(Host, slot.Port, hostKey), ControlKeyPath);
    }

    private static async Task WaitForSshAsync(QemuProcess process, int port, TimeSpan timeout, bool killOnTimeout, CancellationToken cancellationToken)
    {
        if (await SshBanner.WaitAsync(Host, port, timeout, () => process.IsAlive, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        var error = process.IsAlive
            ? process.Failed("BoxNotAnswering", $"The box did not answer SSH on port {port} within {timeout.TotalSeconds:0} s; see its console log {process.ConsoleLog}")
            : process.Failed("BoxExited", $"QEMU exited before the box answered SSH on port {port}; see its console log {process.ConsoleLog}");
        if (killOnTimeout)
        {
            await process.KillAsync().ConfigureAwait(false);
        }

        throw error;
    }

    private (SlotFile Slot, VolumeMeta Meta) Attached(string instanceId, string volumeId)
    {
        var slot = state.ReadSlot(instanceId) ?? throw LocalState.InstanceNotFound(instanceId);
        if (slot.VolumeId != volumeId)
        {
            throw new ShellboxException(ShellboxErrorKind.Conflict, "VolumeNotAttached", $"Volume '{volumeId}' is not attached to instance '{instanceId}'.");
        }

        var meta = state.ReadVolume(volumeId) ?? throw LocalState.VolumeNotFound(volumeId);
        return (slot, meta);
    }

    /// <summary>The QEMU command line parts for the volume's box on the instance (internal for crash-recovery tests).</summary>
    internal QemuLaunch LaunchFor(string instanceId, string volumeId, bool incoming)
    {
        var (slot, meta) = Attached(instanceId, volumeId);
        return Launch(instanceId, slot, meta, incoming);
    }

    internal QemuMachine Machine => machine;

    private QemuLaunch Launch(string instanceId, SlotFile slot, VolumeMeta meta, bool incoming)
    {
        var golden = meta.GoldenLocation;
        var goldenMeta = state.ReadGolden(golden)
            ?? throw ShellboxException.Service("GoldenNotFound", $"The golden snapshot '{meta.Golden}' that volume '{meta.VolumeId}' was cloned from is gone from {golden}.");
        var volume = state.Layout.Volume(meta.VolumeId);
        var runFolder = state.Layout.Instance(instanceId);
        return new QemuLaunch(
            Name: $"shellbox-{instanceId}",
            RamFile: Path.Combine(volume, LocalFiles.Ram),
            DiskFile: Path.Combine(volume, LocalFiles.Disk),
            Port: slot.Port,
            ConsoleLog: Path.Combine(runFolder, LocalFiles.Console),
            QmpSocket: LocalFiles.Socket(runFolder, LocalFiles.Qmp),
            Kernel: Path.Combine(golden, LocalFiles.Kernel),
            Initrd: Path.Combine(golden, LocalFiles.Initrd),
            KernelAppend: goldenMeta.KernelAppend,
            Incoming: incoming);
    }

    private Task<FolderLock> RunLockAsync(string runFolder, CancellationToken cancellationToken) =>
        FolderLock.AcquireAsync(Path.Combine(runFolder, ".run.lock"), options.BootTimeout + options.SuspendTimeout, cancellationToken);

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
