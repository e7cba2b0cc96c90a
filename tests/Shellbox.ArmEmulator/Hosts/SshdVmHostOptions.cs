namespace Shellbox.ArmEmulator.Hosts;

/// <summary>How <see cref="SshdVmHost"/> makes emulated VMs real.</summary>
public sealed record SshdVmHostOptions
{
    /// <summary>Where each VM's folder (sshd config, host key, agent home, the userdata link) is made.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>The folder holding the built shellbox-agent; first on the VMs' PATH.</summary>
    public required string AgentDirectory { get; init; }

    /// <summary>The port each VM's sshd listens on, at the VM's private address (AzureProviderSettings.InstanceSshPort).</summary>
    public int InstanceSshPort { get; init; } = 22;

    /// <summary>Further variables for sessions on every VM, e.g. SHELLBOX_GOLDEN_CACHE on a test machine.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    public string SshdPath { get; init; } = "/usr/sbin/sshd";
}
