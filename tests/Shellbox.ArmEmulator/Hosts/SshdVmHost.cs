using System.Collections.Concurrent;

namespace Shellbox.ArmEmulator.Hosts;

/// <summary>
/// Emulated VMs that are real enough for the Azure box runtime end to end: each VM gets a real sshd on its
/// private (loopback) address at the instance SSH port, with the host key its cloud-init data carries and
/// its osProfile keys authorized; sessions run the built shellbox-agent with the VM's userdata pointing at
/// the disk attached at LUN 0. So SSH.NET -> sshd -> agent -> QEMU runs for real, nothing is faked.
/// Runs as root (sshd must); a VM's admin user must exist here, so tests give their VMs the admin user root.
/// </summary>
public sealed class SshdVmHost(SshdVmHostOptions options) : IVmHost, IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, SshdVm> vms = new(StringComparer.OrdinalIgnoreCase);

    public SshdVmHostOptions Options { get; } = options;

    public async Task StartAsync(EmulatedVm vm, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(vm);
        if (vms.TryRemove(vm.Name, out var previous))
        {
            await previous.StopAsync().ConfigureAwait(false); // a VM created again under its name
        }

        vms[vm.Name] = await SshdVm.StartAsync(vm, Options, ct).ConfigureAwait(false);
    }

    public async Task StopAsync(string vmName, CancellationToken ct)
    {
        if (vms.TryRemove(vmName, out var vm))
        {
            await vm.StopAsync().ConfigureAwait(false);
        }
    }

    public Task DataDisksChangedAsync(string vmName, IReadOnlyDictionary<int, string> diskFoldersByLun, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(diskFoldersByLun);
        if (!vms.TryGetValue(vmName, out var vm))
        {
            throw new InvalidOperationException($"No VM '{vmName}' runs on this host.");
        }

        vm.SetDataDisks(diskFoldersByLun);
        return Task.CompletedTask;
    }

    /// <summary>The agent's state folder of a running VM (its QEMU run files), for tests that look under it.</summary>
    public string AgentHome(string vmName) => vms.TryGetValue(vmName, out var vm) ? vm.AgentHome : throw new KeyNotFoundException(vmName);

    public async ValueTask DisposeAsync()
    {
        foreach (var name in vms.Keys.ToList())
        {
            await StopAsync(name, CancellationToken.None).ConfigureAwait(false);
        }
    }
}
