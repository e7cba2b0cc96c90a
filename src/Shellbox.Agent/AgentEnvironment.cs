using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Shellbox.Core.Errors;
using Shellbox.Local;

namespace Shellbox.Agent;

/// <summary>
/// Where the agent finds things on its instance, from the environment (the instance's sshd sets it):
/// <code>
/// SHELLBOX_AGENT_HOME    its own state: run/ (qemu.pid qmp.sock console.log), keys/, golden/   default /var/lib/shellbox
/// SHELLBOX_USERDATA      where the volume's data disk (LUN 0) is mounted                      default /mnt/userdata
/// SHELLBOX_BOX_ADDRESS   the address the box's SSH server is forwarded to                     default the primary address
/// SHELLBOX_BOX_PORT      its port                                                             default 2222
/// SHELLBOX_BOX_GUEST     debian (default) or minimal: the guest build-golden builds (as Local's local.guest)
/// SHELLBOX_BOX_DISK_GIB  its disk size when build-golden is given no --volume-gib (Local's default for the guest)
/// SHELLBOX_BOX_MEMORY_MIB, SHELLBOX_ACCELERATOR   the QEMU machine (Local's defaults for the guest, tcg)
/// SHELLBOX_GOLDEN_CACHE  a folder of ready golden builds to take build-golden's result from (test machines)
/// </code>
/// </summary>
internal sealed record AgentEnvironment
{
    public required string Home { get; init; }

    public required string UserData { get; init; }

    public required string BoxAddress { get; init; }

    public required int BoxPort { get; init; }

    public required int MemoryMiB { get; init; }

    public required string Guest { get; init; }

    public required int DiskGiB { get; init; }

    public required string Accelerator { get; init; }

    public string? GoldenCache { get; init; }

    /// <summary>QEMU's run files; one box runs on an instance at a time.</summary>
    public string RunFolder => Path.Combine(Home, "run");

    public string InstanceName => Environment.MachineName;

    public LocalProviderOptions Options => new()
    {
        Accelerator = Accelerator,
        GoldenDirectory = GoldenCache ?? Path.Combine(Home, "golden"),
        KeyDirectory = Path.Combine(Home, "keys"),
    };

    public static AgentEnvironment Read()
    {
        var guest = Variable("SHELLBOX_BOX_GUEST") ?? new LocalProviderSettings().Guest;
        if (guest is not (GuestKinds.Debian or GuestKinds.Minimal))
        {
            throw ShellboxException.User("AgentSettingsInvalid", $"SHELLBOX_BOX_GUEST must be {GuestKinds.Debian} or {GuestKinds.Minimal}, not '{guest}'.");
        }

        var defaults = new LocalProviderSettings { Guest = guest };
        return Read(guest, defaults);
    }

    private static AgentEnvironment Read(string guest, LocalProviderSettings defaults) => new()
    {
        Home = Path.GetFullPath(Variable("SHELLBOX_AGENT_HOME") ?? "/var/lib/shellbox"),
        UserData = Path.GetFullPath(Variable("SHELLBOX_USERDATA") ?? "/mnt/userdata"),
        BoxAddress = Variable("SHELLBOX_BOX_ADDRESS") is { } address
            ? IPAddress.TryParse(address, out _) ? address : throw ShellboxException.User("AgentSettingsInvalid", $"SHELLBOX_BOX_ADDRESS '{address}' is not an IP address.")
            : PrimaryAddress(),
        BoxPort = Number("SHELLBOX_BOX_PORT", 2222, 1, 65535),
        MemoryMiB = Number("SHELLBOX_BOX_MEMORY_MIB", defaults.MemoryMiB, 64, 16384),
        Guest = guest,
        DiskGiB = Number("SHELLBOX_BOX_DISK_GIB", defaults.DiskGiB, 1, 4096),
        Accelerator = Variable("SHELLBOX_ACCELERATOR") ?? new LocalProviderOptions().Accelerator,
        GoldenCache = Variable("SHELLBOX_GOLDEN_CACHE") is { } cache ? Path.GetFullPath(cache) : null,
    };

    private static string? Variable(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : null;

    private static int Number(string name, int fallback, int min, int max)
    {
        var text = Variable(name);
        if (text is null)
        {
            return fallback;
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw ShellboxException.User("AgentSettingsInvalid", $"{name} must be a number from {min} to {max}, not '{text}'.");
    }

    /// <summary>The first IPv4 address of an interface that is up and not loopback: the VM's private address.</summary>
    private static string PrimaryAddress() =>
        NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork)?.ToString()
        ?? throw ShellboxException.Service("AgentAddressUnknown", "This instance has no IPv4 address to forward the box's SSH server to; set SHELLBOX_BOX_ADDRESS.");
}
