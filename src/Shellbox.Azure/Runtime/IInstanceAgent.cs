namespace Shellbox.Azure.Runtime;

/// <summary>
/// Runs the instance-side agent (shellbox-agent: the same QEMU/QMP code the Local provider runs) on an
/// instance over SSH, with the instance's host key pinned. The box runtime and the golden build use it.
/// </summary>
public interface IInstanceAgent
{
    /// <summary>Runs `shellbox-agent &lt;arguments&gt;` on the instance; a non-zero exit is returned, not thrown.</summary>
    Task<AgentResult> RunAsync(InstanceAddress instance, IReadOnlyList<string> arguments, TimeSpan timeout, CancellationToken cancellationToken = default);
}

/// <summary>An instance's own sshd: host, port and the pinned host key (OpenSSH public key form).</summary>
public sealed record InstanceAddress(string Host, int Port, string HostKey);

public sealed record AgentResult(int ExitCode, string StdOut, string StdErr);
