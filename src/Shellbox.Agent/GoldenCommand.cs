using Shellbox.Core.Errors;
using Shellbox.Local;
using Shellbox.Local.Files;
using Shellbox.Local.Infrastructure;
using Shellbox.Local.Qemu;
using Shellbox.Local.Runtime;

namespace Shellbox.Agent;

/// <summary>
/// build-golden: builds the golden box with the Local provider's <see cref="GoldenBuilder"/> (boot once,
/// suspend), authorizing the control key it is given (only its public half ever reaches an instance),
/// then lays it onto the data disk as a volume ready to resume: a full box.qcow2 (a disk copied from a
/// snapshot has no backing file to lean on), ram.img, device.state, the boot files and meta.json, which
/// is written last (a disk without it holds no volume). The infrastructure snapshots that disk.
/// </summary>
internal sealed class GoldenCommand(AgentEnvironment environment, TimeProvider time)
{
    private static readonly string[] GoldenFiles = [LocalFiles.Ram, LocalFiles.DeviceState, LocalFiles.Kernel, LocalFiles.Initrd, LocalFiles.Manifest, LocalFiles.GoldenMeta];

    public async Task<GoldenOutput> RunAsync(string controlPublicKey, CancellationToken cancellationToken)
    {
        var options = environment.Options;
        var layout = new LocalLayout(environment.Home, options);
        var machine = QemuMachine.Create(environment.MemoryMiB, environment.Accelerator);
        var builder = new GoldenBuilder(new LocalState(layout), options, machine, new GuestBuild(environment.Guest, environment.DiskGiB), time);
        var golden = await builder.EnsureAsync(new GoldenAccess(WriteAuthorizedKey(layout.KeyDirectory, controlPublicKey), null), null, cancellationToken).ConfigureAwait(false);
        var goldenMeta = AtomicFile.ReadJson<GoldenMeta>(Path.Combine(golden.Location, LocalFiles.GoldenMeta))
            ?? throw ShellboxException.Service("GoldenNotFound", $"The golden build at {golden.Location} is incomplete.");

        var disk = new DataDisk(environment);
        var box = new QemuBox(machine, options, time);
        using (await box.RunLockAsync(environment.RunFolder, cancellationToken).ConfigureAwait(false))
        {
            if (disk.Read() is { } existing && box.IsRunning(disk.Site(existing.VolumeId)))
            {
                throw new ShellboxException(ShellboxErrorKind.Conflict, "BoxRunning", $"The box of volume '{existing.VolumeId}' runs on this instance's data disk; the golden is not written over it.");
            }

            await InstallAsync(disk, golden.Location, goldenMeta, cancellationToken).ConfigureAwait(false);
        }

        return new GoldenOutput(goldenMeta.Version, goldenMeta.HostKey, goldenMeta.MachineDescription, goldenMeta.Created);
    }

    private async Task InstallAsync(DataDisk disk, string goldenFolder, GoldenMeta goldenMeta, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(disk.Folder))
        {
            throw ShellboxException.NotFound("DataDiskNotMounted", $"There is no data disk mounted at {disk.Folder}.");
        }

        disk.DeleteMeta();
        AtomicFile.SyncDirectory(disk.Folder);
        await CopyAsync(Path.Combine(goldenFolder, LocalFiles.GoldenDisk), Path.Combine(disk.Folder, LocalFiles.Disk), cancellationToken).ConfigureAwait(false);
        foreach (var file in GoldenFiles)
        {
            await CopyAsync(Path.Combine(goldenFolder, file), Path.Combine(disk.Folder, file), cancellationToken).ConfigureAwait(false);
        }

        foreach (var file in (string[])[LocalFiles.Disk, .. GoldenFiles])
        {
            var path = Path.Combine(disk.Folder, file);
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
            AtomicFile.Sync(path);
        }

        await disk.WriteAsync(
            new VolumeMeta
            {
                VolumeId = goldenMeta.Version,
                Golden = goldenMeta.Version,
                GoldenLocation = ".",
                Created = time.GetUtcNow(),
                MachineFingerprint = goldenMeta.MachineFingerprint,
                MachineDescription = goldenMeta.MachineDescription,
                GoldenHostKey = goldenMeta.HostKey,
                GuestAgent = goldenMeta.GuestAgent,
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The control key's public half as the build script reads it: one line in keys/control.pub.</summary>
    private static string WriteAuthorizedKey(string keyDirectory, string controlPublicKey)
    {
        var line = controlPublicKey.Trim();
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (line.Contains('\n', StringComparison.Ordinal) || parts.Length < 2 || parts[0] is not ("ssh-ed25519" or "ssh-rsa" or "ecdsa-sha2-nistp256" or "ecdsa-sha2-nistp384" or "ecdsa-sha2-nistp521"))
        {
            throw ShellboxException.User("ControlKeyInvalid", "--control-key must be one OpenSSH public key line (\"ssh-ed25519 AAAA... comment\").");
        }

        Directory.CreateDirectory(keyDirectory);
        var path = Path.Combine(keyDirectory, "control.pub");
        AtomicFile.WriteAllText(path, line + "\n");
        return path;
    }

    private static Task CopyAsync(string from, string to, CancellationToken cancellationToken) =>
        SparseCopy.RunAsync([from], to, cancellationToken, "GoldenInstallFailed");
}
