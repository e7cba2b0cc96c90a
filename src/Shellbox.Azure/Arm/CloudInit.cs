using System.Text;

namespace Shellbox.Azure.Arm;

/// <summary>
/// The cloud-init user data of an instance (seed 000, phase 2.4): its own pinned SSH host key, QEMU, the
/// box volume mounted by LUN at /mnt/userdata whenever it is attached (formatted only when it holds no
/// filesystem), and the agent. Sent base64-encoded as the VM's custom data.
/// </summary>
internal static class CloudInit
{
    public const string UserDataMount = "/mnt/userdata";
    public const string DataDiskLun0 = "/dev/disk/azure/scsi1/lun0";

    /// <summary>Written when cloud-init has installed QEMU and the agent and mounted a volume present at boot.</summary>
    public const string ReadyMark = "/var/lib/shellbox/instance-ready";

    // Instances get their volume long after boot (attach at connect or when a ready pair forms): a udev
    // rule starts the mount service whenever Azure's LUN 0 link appears, after its own rule made it.
    private const string MountScript = """
        #!/bin/sh
        # Mounts the Shellbox volume (the data disk at LUN 0); formats it only when it holds no filesystem, with
        # no blocks reserved for root: it holds only the box's files, sized by the agent to fit (see GuestDisk).
        set -eu
        dev=__DEV__
        mnt=__MNT__
        wait="${1:-120}"
        if mountpoint -q "$mnt"; then exit 0; fi
        i=0
        while [ ! -e "$dev" ]; do
          if [ "$i" -ge "$wait" ]; then echo "shellbox: no data disk at $dev yet" >&2; exit 0; fi
          sleep 1; i=$((i+1))
        done
        real=$(readlink -f "$dev")
        if [ -z "$(blkid -p -o value -s TYPE "$real" || true)" ]; then
          mkfs.ext4 -q -m 0 -L userdata "$real"
        fi
        mkdir -p "$mnt"
        mount -o noatime "$real" "$mnt"
        """;

    private const string UdevRule = """
        ACTION=="add", SUBSYSTEM=="block", SYMLINK=="disk/azure/scsi1/lun0", TAG+="systemd", ENV{SYSTEMD_WANTS}+="shellbox-userdata.service"
        """;

    private const string MountUnit = """
        [Unit]
        Description=Mount the Shellbox volume at __MNT__
        [Service]
        Type=oneshot
        ExecStart=/usr/local/sbin/shellbox-userdata-mount 120
        """;

    private const string AgentInstall = """
        #!/bin/sh
        # Installs shellbox-agent from the package URL given as $1: a .deb, or a tar.gz unpacked into /usr/local.
        set -eu
        url="$1"
        mkdir -p /var/lib/shellbox
        case "${url%%\?*}" in
          *.deb) f=/var/lib/shellbox/shellbox-agent.deb; curl -fsSL --retry 10 -o "$f" "$url"; apt-get install -y "$f" ;;
          *) f=/var/lib/shellbox/shellbox-agent.tar.gz; curl -fsSL --retry 10 -o "$f" "$url"; tar -xzf "$f" -C /usr/local ;;
        esac
        """;

    public static string Build(InstanceHostKey hostKey, string? agentPackageUrl)
    {
        var yaml = new StringBuilder();
        yaml.Append("#cloud-config\n");
        yaml.Append("ssh_deletekeys: true\n");
        yaml.Append("ssh_genkeytypes: []\n");
        yaml.Append("ssh_keys:\n");
        yaml.Append("  ed25519_private: |\n");
        Indent(yaml, hostKey.PrivateKeyOpenSsh, 4);
        yaml.Append("  ed25519_public: ").Append(hostKey.PublicKeyOpenSsh).Append('\n');
        yaml.Append("package_update: true\n");
        yaml.Append("packages:\n  - qemu-system-x86\n  - qemu-utils\n  - slirp4netns\n  - curl\n");
        yaml.Append("write_files:\n");
        File(yaml, "/usr/local/sbin/shellbox-userdata-mount", "0755", MountScript.Replace("__DEV__", DataDiskLun0, StringComparison.Ordinal).Replace("__MNT__", UserDataMount, StringComparison.Ordinal));
        File(yaml, "/etc/udev/rules.d/99-shellbox-userdata.rules", "0644", UdevRule);
        File(yaml, "/etc/systemd/system/shellbox-userdata.service", "0644", MountUnit.Replace("__MNT__", UserDataMount, StringComparison.Ordinal));
        if (agentPackageUrl is not null)
        {
            File(yaml, "/usr/local/sbin/shellbox-install-agent", "0755", AgentInstall);
        }

        // A disk attached at create (the golden build's) is there by the final stage: a short wait suffices;
        // a pool instance gets its volume later, through the udev rule. The ready mark comes last, so the
        // agent can tell a half-initialised instance (sshd answers long before cloud-init is done).
        yaml.Append("runcmd:\n");
        yaml.Append("  - [systemctl, daemon-reload]\n");
        yaml.Append("  - [udevadm, control, --reload-rules]\n");
        yaml.Append("  - [/usr/local/sbin/shellbox-userdata-mount, '15']\n");
        if (agentPackageUrl is not null)
        {
            yaml.Append("  - [/usr/local/sbin/shellbox-install-agent, ").Append(Quote(agentPackageUrl)).Append("]\n");
        }

        yaml.Append("  - [mkdir, -p, /var/lib/shellbox]\n");
        yaml.Append("  - [touch, ").Append(ReadyMark).Append("]\n");
        return yaml.ToString();
    }

    public static string Base64(string userData) => Convert.ToBase64String(Encoding.UTF8.GetBytes(userData));

    private static void File(StringBuilder yaml, string path, string permissions, string content)
    {
        yaml.Append("  - path: ").Append(path).Append('\n');
        yaml.Append("    permissions: '").Append(permissions).Append("'\n");
        yaml.Append("    content: |\n");
        Indent(yaml, content, 6);
    }

    private static void Indent(StringBuilder yaml, string text, int spaces)
    {
        foreach (var line in text.Replace("\r\n", "\n", StringComparison.Ordinal).TrimEnd('\n').Split('\n'))
        {
            yaml.Append(' ', line.Length == 0 ? 0 : spaces).Append(line).Append('\n');
        }
    }

    /// <summary>A YAML single-quoted scalar: a URL's query string (a SAS) may hold any character.</summary>
    private static string Quote(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";
}
