using Azure.Core.Pipeline;

namespace Shellbox.Azure;

/// <summary>
/// How the Azure provider reaches ARM and how long it waits. The defaults suit production; tests move
/// the transport (to trust the loopback emulator's certificate in-process) and shorten the waits.
/// </summary>
public sealed record AzureProviderOptions
{
    /// <summary>
    /// The HTTP transport of every ARM and Resource Graph call; null is the SDK's own. Tests trust the
    /// emulator's certificate here in-process; child processes trust it through SSL_CERT_FILE instead.
    /// </summary>
    public HttpPipelineTransport? Transport { get; init; }

    /// <summary>The SDK pipeline's first retry delay for 429/5xx (it honours Retry-After when the service sends one).</summary>
    public TimeSpan TransientRetryDelay { get; init; } = TimeSpan.FromSeconds(0.8);

    /// <summary>How often the SDK pipeline retries a 429/5xx answer.</summary>
    public int TransientRetries { get; init; } = 5;

    /// <summary>The first back-off after a 409 (another operation on the VM is in flight); it doubles each time.</summary>
    public TimeSpan ConflictRetryDelay { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How often a write refused with a transient 409 is tried again.</summary>
    public int ConflictRetries { get; init; } = 6;

    /// <summary>Rows per Resource Graph page ($top); further pages follow $skipToken.</summary>
    public int ResourceGraphPageSize { get; init; } = 1000;

    /// <summary>The golden build script; null searches assets/golden/build-golden.sh beside the assembly, then upwards.</summary>
    public string? GoldenScriptPath { get; init; }

    /// <summary>How long a new golden-build VM may take to answer SSH (cloud-init installs QEMU first).</summary>
    public TimeSpan InstanceBootTimeout { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>How long `shellbox-agent build-golden` may run on the golden-build VM.</summary>
    public TimeSpan GoldenBuildTimeout { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>
    /// How often an attach or detach (the VM PATCH on a connect's path) is polled until it completes; null leaves it
    /// to the SDK, which waits at least a second between polls. The benchmark scales it with the emulator's latencies.
    /// </summary>
    public TimeSpan? OperationPollInterval { get; init; }

    /// <summary>How often the golden build probes the new VM's sshd while it boots.</summary>
    public TimeSpan SshProbeInterval { get; init; } = TimeSpan.FromSeconds(5);
}
