using System.Security.Cryptography;
using System.Text;
using Shellbox.Core.Errors;

namespace Shellbox.Local.Qemu;

/// <summary>
/// The virtual machine every box runs on. Its machine-defining arguments (machine type, accelerator,
/// CPU, memory, devices) are fingerprinted: state saved by one machine only resumes on the same one.
/// Paths and ports are placeholders in the fingerprinted template, so they may differ between runs.
/// </summary>
internal sealed record QemuMachine(int MemoryMiB, string Accelerator)
{
    /// <summary>
    /// A virtio-serial port for the guest's QEMU guest agent (a golden whose manifest says it runs one): the
    /// host sets the clock and hostname of a resumed box through it instead of an SSH login. Part of the
    /// machine: state saved with the port only resumes with it, so each volume keeps what its golden had.
    /// </summary>
    public bool GuestAgent { get; init; }

    // Pinned: a newer QEMU keeps the 7.2 machine's migration format, "pc" would move with the QEMU version.
    public const string MachineType = "pc-i440fx-7.2";

    // +rdrand: the guest RNG is ready at once under TCG, so the first boot's dropbearkey does not block.
    public const string Cpu = "qemu64,+rdrand";

    public const string DefaultKernelAppend = "console=ttyS0 root=/dev/vda rw quiet";

    public static QemuMachine Create(int memoryMiB, string accelerator)
    {
        var accel = accelerator.ToLowerInvariant();
        return accel is "tcg" or "kvm"
            ? new QemuMachine(memoryMiB, accel)
            : throw ShellboxException.User("AcceleratorUnknown", $"QEMU accelerator '{accelerator}' is not supported; use tcg or kvm.");
    }

    /// <summary>The arguments that define the guest's hardware; {ram} {disk} {address} {port} stand for the per-run parts.</summary>
    public IReadOnlyList<string> Template =>
    [
        "-machine", $"{MachineType},memory-backend=mem",
        "-accel", Accelerator,
        "-cpu", Cpu,
        "-smp", "1",
        "-m", $"{MemoryMiB}M",
        "-nodefaults",
        "-object", $"memory-backend-file,id=mem,size={MemoryMiB}M,share=on,mem-path={{ram}}",
        "-drive", "file={disk},if=virtio,format=qcow2",
        "-netdev", "user,id=n0,hostfwd=tcp:{address}:{port}-:22",
        // romfile=: no PXE ROM (useless with -kernel), which also keeps it out of device.state.
        "-device", "virtio-net-pci,netdev=n0,romfile=",
        "-serial", "chardev:console",
        .. GuestAgent
            ? new[]
            {
                "-device", "virtio-serial-pci,id=ser0",
                "-chardev", "socket,id=qga0,path={qga},server=on,wait=off",
                "-device", $"virtserialport,bus=ser0.0,chardev=qga0,name={GuestAgentPort}",
            }
            : [],
    ];

    /// <summary>The port name qemu-guest-agent looks for (its systemd unit starts when the port appears).</summary>
    public const string GuestAgentPort = "org.qemu.guest_agent.0";

    // The forward's address is a per-run part like its port (loopback locally, the private address on an
    // instance); it is hashed as 127.0.0.1, the address it always had, so states saved before still resume.
    public string Fingerprint => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(
        string.Join('\n', Template).Replace("{address}", LoopbackAddress, StringComparison.Ordinal)))).ToLowerInvariant();

    public const string LoopbackAddress = "127.0.0.1";

    public string Description => $"{MachineType}, {Accelerator}, cpu {Cpu}, {MemoryMiB} MiB, 1 vCPU, virtio disk and net{(GuestAgent ? ", guest agent port" : "")}";

    public long RamBytes => MemoryMiB * 1024L * 1024L;

    /// <summary>The whole command line of one run.</summary>
    public IReadOnlyList<string> Arguments(QemuLaunch launch)
    {
        var args = Template.Select(a => a
            .Replace("{ram}", OptionValue(launch.RamFile), StringComparison.Ordinal)
            .Replace("{disk}", OptionValue(launch.DiskFile), StringComparison.Ordinal)
            // QEMU runs in the box's own namespace: its forward listens there, slirp4netns publishes it at launch.Address.
            .Replace("{address}", Network.BoxNamespace.InsideAddress, StringComparison.Ordinal)
            .Replace("{port}", launch.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{qga}", OptionValue(launch.GuestAgentSocket ?? ""), StringComparison.Ordinal))
            .ToList();
        args.AddRange(
        [
            "-name", launch.Name,
            "-chardev", $"file,id=console,path={OptionValue(launch.ConsoleLog)},append=on",
            "-display", "none",
            "-qmp", $"unix:{OptionValue(launch.QmpSocket)},server=on,wait=off",
            // Kept on resume too: a guest that reboots boots this kernel again.
            "-kernel", launch.Kernel,
            "-initrd", launch.Initrd,
            "-append", launch.KernelAppend,
        ]);
        if (launch.Incoming)
        {
            args.AddRange(["-S", "-incoming", "defer"]);
        }

        return args;
    }

    // QEMU option values are comma-separated: a comma inside a path is written twice.
    private static string OptionValue(string path) => path.Replace(",", ",,", StringComparison.Ordinal);
}

/// <summary>
/// The per-run parts of a QEMU command line; the box's SSH server is published at <see cref="Address"/>:<see cref="Port"/>
/// on the bastion, and its DNS goes to <see cref="DnsServers"/> (null: the bastion's resolver).
/// </summary>
internal sealed record QemuLaunch(
    string Name,
    string RamFile,
    string DiskFile,
    string Address,
    int Port,
    string ConsoleLog,
    string QmpSocket,
    string Kernel,
    string Initrd,
    string KernelAppend,
    bool Incoming,
    IReadOnlyList<string>? DnsServers = null,
    string? GuestAgentSocket = null);
