namespace Shellbox.Local;

/// <summary>
/// How the Local provider finds its tools and inputs. The defaults suit the module and the repository;
/// tests and the benchmark move the golden cache and the control key to a shared folder.
/// </summary>
public sealed record LocalProviderOptions
{
    /// <summary>The golden build script; null searches assets/golden/build-golden.sh beside the assembly, then upwards.</summary>
    public string? GoldenScriptPath { get; init; }

    /// <summary>Where golden snapshots live; null means &lt;state&gt;/golden.</summary>
    public string? GoldenDirectory { get; init; }

    /// <summary>Where the control key pair lives; null means &lt;state&gt;/keys.</summary>
    public string? KeyDirectory { get; init; }

    /// <summary>
    /// How long a golden that is no longer current and that no volume uses is kept after its last use (an
    /// EnsureGoldenSnapshot that settled on it, or a volume cloned from it) before a newer build removes it:
    /// another process sharing the golden folder (the tests' cache) may still be about to clone it.
    /// </summary>
    public TimeSpan UnusedGoldenKeptFor { get; init; } = TimeSpan.FromHours(1);

    public string QemuBinary { get; init; } = "qemu-system-x86_64";

    /// <summary>
    /// "tcg" (default: works everywhere, and the saved state is portable between hosts) or "kvm". Part of
    /// the machine fingerprint: a box suspended under one does not resume under the other.
    /// </summary>
    public string Accelerator { get; init; } = "tcg";

    /// <summary>How long the golden's first boot may take to answer SSH.</summary>
    public TimeSpan BootTimeout { get; init; } = TimeSpan.FromMinutes(3);

    /// <summary>How long a resumed box may take to answer SSH; one that does not is stopped and reported.</summary>
    public TimeSpan ResumeTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long saving the device state and quitting QEMU may take.</summary>
    public TimeSpan SuspendTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The DNS servers a box's 10.0.2.3 forwards to, reached like any outside address; null: the bastion's own
    /// resolver (through slirp4netns, so one on the bastion's loopback works too).
    /// </summary>
    public IReadOnlyList<string>? BoxDnsServers { get; init; }
}
