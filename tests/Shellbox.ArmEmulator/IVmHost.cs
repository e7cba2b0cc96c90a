namespace Shellbox.ArmEmulator;

/// <summary>A backend that makes an emulated VM real (for example, an sshd per VM on its own loopback
/// address). The emulator calls it as ARM operations complete, before reporting them Succeeded.</summary>
public interface IVmHost
{
    /// <summary>A VM's create is completing; <paramref name="vm"/> carries the private IP the emulator
    /// allocated (a distinct loopback address such as 127.0.1.N).</summary>
    Task StartAsync(EmulatedVm vm, CancellationToken ct);

    /// <summary>The VM is being deleted.</summary>
    Task StopAsync(string vmName, CancellationToken ct);

    /// <summary>The VM's data disks changed (attach/detach): lun -> the disk's folder on this machine.</summary>
    Task DataDisksChangedAsync(string vmName, IReadOnlyDictionary<int, string> diskFoldersByLun, CancellationToken ct);
}

/// <summary>What a VM host needs to run a VM: its address, its admin user and keys, its cloud-init data.</summary>
public sealed record EmulatedVm(
    string Name,
    string PrivateIp,
    string AdminUsername,
    IReadOnlyList<string> SshPublicKeys,
    string? CustomData,
    IReadOnlyDictionary<string, string> Tags);

/// <summary>The pure ARM model: VMs exist only as resources.</summary>
public sealed class NullVmHost : IVmHost
{
    public static readonly NullVmHost Instance = new();

    public Task StartAsync(EmulatedVm vm, CancellationToken ct) => Task.CompletedTask;

    public Task StopAsync(string vmName, CancellationToken ct) => Task.CompletedTask;

    public Task DataDisksChangedAsync(string vmName, IReadOnlyDictionary<int, string> diskFoldersByLun, CancellationToken ct) =>
        Task.CompletedTask;
}
