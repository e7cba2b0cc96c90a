using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Shellbox.ArmEmulator;

namespace Shellbox.Azure.Tests.Arm;

/// <summary>
/// Makes each emulated VM answer like a booted sshd at its own loopback address (the banner is all the
/// golden build waits for), and remembers which disk folder sits at which LUN. The real sshd per VM is
/// the runtime engineer's host; these tests exercise the ARM side.
/// </summary>
internal sealed class LoopbackVmHost(int sshPort) : IVmHost, IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, (EmulatedVm Vm, TcpListener Listener, CancellationTokenSource Stop)> vms = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, IReadOnlyDictionary<int, string>> disks = new(StringComparer.OrdinalIgnoreCase);

    public int SshPort { get; } = sshPort;

    public EmulatedVm? FindByAddress(string address) => vms.Values.Select(v => v.Vm).FirstOrDefault(v => v.PrivateIp == address);

    /// <summary>The folder of the disk at LUN 0 of a VM, or null.</summary>
    public string? Lun0Folder(string vmName) => disks.TryGetValue(vmName, out var luns) && luns.TryGetValue(0, out var folder) ? folder : null;

    public Task StartAsync(EmulatedVm vm, CancellationToken ct)
    {
        var listener = new TcpListener(IPAddress.Parse(vm.PrivateIp), SshPort);
        listener.Start();
        var stop = new CancellationTokenSource();
        vms[vm.Name] = (vm, listener, stop);
        _ = ServeAsync(listener, stop.Token);
        return Task.CompletedTask;
    }

    public Task StopAsync(string vmName, CancellationToken ct)
    {
        if (vms.TryRemove(vmName, out var entry))
        {
            entry.Stop.Cancel();
            entry.Listener.Stop();
        }

        disks.TryRemove(vmName, out _);
        return Task.CompletedTask;
    }

    public Task DataDisksChangedAsync(string vmName, IReadOnlyDictionary<int, string> diskFoldersByLun, CancellationToken ct)
    {
        disks[vmName] = new Dictionary<int, string>(diskFoldersByLun);
        return Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var name in vms.Keys.ToList())
        {
            await StopAsync(name, CancellationToken.None);
        }
    }

    private static async Task ServeAsync(TcpListener listener, CancellationToken stop)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                using var client = await listener.AcceptTcpClientAsync(stop);
                await client.GetStream().WriteAsync(Encoding.ASCII.GetBytes("SSH-2.0-ShellboxTestHost\r\n"), stop);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException or IOException)
        {
            // the VM was deleted
        }
    }
}
