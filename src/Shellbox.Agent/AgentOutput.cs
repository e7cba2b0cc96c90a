namespace Shellbox.Agent;

// What the agent prints on stdout (one JSON object, camelCase), per command. The control plane's
// AgentBoxRuntime (src/Shellbox.Azure/Runtime) reads these shapes.

/// <summary>
/// resume, cold-boot: the box answers SSH at Host:Port. HostKey is the pinned one, null before a clone's first rekey.
/// BoxName is the name kept on the volume (null before a connect named it); Hostname the name its guest last took.
/// SettledByAgent: the box's guest agent set its clock and hostname (and at a first resume made and pinned its host
/// key), so the control plane needs no SSH login for them.
/// </summary>
internal sealed record BoxStartOutput(string VolumeId, string Host, int Port, string? HostKey, string GoldenHostKey, bool WasRunning, string? BoxName, string? Hostname, bool SettledByAgent);

/// <summary>suspend: Suspended is false when the box already was.</summary>
internal sealed record SuspendOutput(string VolumeId, bool Suspended);

/// <summary>
/// status: Attached when the data disk holds the volume (or an unclaimed golden copy); Running when its QEMU runs;
/// HeldForCopy the copy's volume id while hold-for-copy holds the box still for it.
/// </summary>
internal sealed record StatusOutput(string VolumeId, bool Attached, bool Running, string? HostKey, string? HeldForCopy);

/// <summary>hold-for-copy: the box was held (paused when WasRunning) for HeldMs, until the copy was released; it goes on.</summary>
internal sealed record HoldOutput(string VolumeId, string CopyVolumeId, bool WasRunning, int HeldMs);

/// <summary>release-copy: the hold for the copy is told to end, the copy made (or abandoned: Made false).</summary>
internal sealed record ReleaseOutput(string VolumeId, string CopyVolumeId, bool Made);

/// <summary>pin-host-key: the host key now pinned for the volume's box.</summary>
internal sealed record PinOutput(string VolumeId, string HostKey);

/// <summary>hostname: the name the volume's box now has as its hostname.</summary>
internal sealed record HostnameOutput(string VolumeId, string Hostname);

/// <summary>build-golden: the golden version now on the data disk and the host key its box presents.</summary>
internal sealed record GoldenOutput(string Version, string HostKey, string Machine, DateTimeOffset Created);
