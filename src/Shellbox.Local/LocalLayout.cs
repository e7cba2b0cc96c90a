using Shellbox.Core.Errors;
using Shellbox.Core.Settings;

namespace Shellbox.Local;

/// <summary>
/// Where everything of the Local provider lives under the state folder:
/// <code>
/// golden/&lt;version&gt;/   golden.qcow2 ram.img device.state vmlinuz initrd.img manifest.json golden.json
/// volumes/&lt;id&gt;/      box.qcow2 ram.img device.state meta.json
/// instances/&lt;id&gt;/    slot.json, and while QEMU runs: qemu.pid qmp.sock console.log qemu.log
/// keys/                control_ed25519(.pub)
/// </code>
/// Folders whose name starts with a dot are work in progress (a create or a build) and are never listed.
/// </summary>
internal sealed class LocalLayout
{
    public LocalLayout(ShellboxSettings settings, LocalProviderOptions options)
        : this(settings.StateDirectory, options)
    {
    }

    public LocalLayout(string stateDirectory, LocalProviderOptions options)
    {
        StateDirectory = Path.GetFullPath(stateDirectory);
        GoldenRoot = Path.GetFullPath(options.GoldenDirectory ?? Path.Combine(StateDirectory, "golden"));
        KeyDirectory = Path.GetFullPath(options.KeyDirectory ?? Path.Combine(StateDirectory, "keys"));
        VolumesRoot = Path.Combine(StateDirectory, "volumes");
        InstancesRoot = Path.Combine(StateDirectory, "instances");
    }

    public string StateDirectory { get; }

    public string GoldenRoot { get; }

    public string KeyDirectory { get; }

    public string VolumesRoot { get; }

    public string InstancesRoot { get; }

    /// <summary>Serializes changes to slots, attachments and volume metadata across processes.</summary>
    public string LockFile => Path.Combine(StateDirectory, ".shellbox.lock");

    public string ControlKey => Path.Combine(KeyDirectory, "control_ed25519");

    public string Golden(string version) => Path.Combine(GoldenRoot, CheckName(version, "golden version"));

    public string Volume(string volumeId) => Path.Combine(VolumesRoot, CheckName(volumeId, "volume id"));

    public string Instance(string instanceId) => Path.Combine(InstancesRoot, CheckName(instanceId, "instance id"));

    /// <summary>Ids become folder names: letters, digits, '.', '_' and '-', not starting with '.'.</summary>
    public static string CheckName(string name, string what)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 64 || name[0] == '.'
            || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
        {
            throw ShellboxException.User("ResourceIdInvalid", $"'{name}' is not a valid {what}: use up to 64 letters, digits, '.', '_' or '-', not starting with '.'.");
        }

        return name;
    }
}

/// <summary>File names inside a volume, an instance and a golden folder.</summary>
internal static class LocalFiles
{
    public const string Disk = "box.qcow2";
    public const string Ram = "ram.img";
    public const string DeviceState = "device.state";
    public const string VolumeMeta = "meta.json";
    public const string Slot = "slot.json";
    public const string Pid = "qemu.pid";
    public const string Qmp = "qmp.sock";

    /// <summary>The QEMU guest agent's port on the host side (machines with <c>GuestAgent</c>).</summary>
    public const string GuestAgent = "qga.sock";
    public const string Console = "console.log";
    public const string QemuLog = "qemu.log";
    public const string MigrationSocket = "migrate.sock";
    public const string GoldenDisk = "golden.qcow2";
    public const string Kernel = "vmlinuz";
    public const string Initrd = "initrd.img";
    public const string Manifest = "manifest.json";
    public const string GoldenMeta = "golden.json";
    public const string CurrentGolden = "current.json";

    /// <summary>
    /// The path of a unix socket in a run folder. The kernel limits socket paths to 107 bytes; a state
    /// folder too deep for that is refused with a clear error rather than moved to a shared temp folder,
    /// where another local user could plant or swap a box's control socket.
    /// </summary>
    public static string Socket(string runFolder, string name)
    {
        var path = Path.Combine(runFolder, name);
        var length = System.Text.Encoding.UTF8.GetByteCount(path);
        return length <= 107
            ? path
            : throw new Core.Errors.ShellboxException(
                Core.Errors.ShellboxErrorKind.User,
                "StatePathTooLong",
                $"The state folder is too deep for QEMU's control sockets ({path} is {length} bytes, the limit is 107); choose a shorter -StateDirectory or SHELLBOX_HOME.");
    }
}
