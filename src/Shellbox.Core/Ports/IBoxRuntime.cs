namespace Shellbox.Core.Ports;

/// <summary>
/// The box on an instance: resume it from its volume's saved state, suspend it back, run a command.
/// QEMU through QMP on this machine, and over SSH on an Azure instance. Both pass one contract suite.
/// </summary>
public interface IBoxRuntime
{
    /// <summary>Resumes the box of <paramref name="volumeId"/> on the instance and waits until its SSH server answers.</summary>
    Task<BoxEndpoint> ResumeAsync(string instanceId, string volumeId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Resumes the box as above for a connect to the box named <paramref name="boxName"/>: a runtime that can
    /// gives the box that name as its hostname (once; a ready pair's box was resumed before it had a name).
    /// </summary>
    Task<BoxEndpoint> ResumeAsync(string instanceId, string volumeId, string boxName, CancellationToken cancellationToken) =>
        ResumeAsync(instanceId, volumeId, cancellationToken);

    /// <summary>Stops the box, saves its device state to the volume, flushes its RAM file and ends QEMU.</summary>
    Task SuspendAsync(string instanceId, string volumeId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Suspends the box for a linger (it stays attached to the instance): its state is saved to the volume as by
    /// <see cref="SuspendAsync"/>, and a runtime that can keeps QEMU, stopped, so that a resume in place within the
    /// linger is a continue (no state load; connections to the box, such as a control master, live on).
    /// <see cref="IsRunningAsync"/> is true for such a box and <see cref="SuspendAsync"/> ends it; nothing is lost
    /// if the host dies meanwhile, since the volume holds the state. A runtime that cannot keep QEMU suspends as
    /// <see cref="SuspendAsync"/> does (the default).
    /// </summary>
    Task SuspendInPlaceAsync(string instanceId, string volumeId, CancellationToken cancellationToken) =>
        SuspendAsync(instanceId, volumeId, cancellationToken);

    /// <summary>
    /// Boots the box from its disk because its saved state is lost (the host stopped without suspending it):
    /// stale RAM and device state are deleted first. Files on the disk stay; running programs are gone.
    /// </summary>
    Task<BoxEndpoint> ColdBootAsync(string instanceId, string volumeId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Cold-boots the box as above for a connect to the box named <paramref name="boxName"/>: a runtime that can gives the
    /// box that name as its hostname (a ready pair's volume, claimed by a new box, does not know the name yet).
    /// </summary>
    Task<BoxEndpoint> ColdBootAsync(string instanceId, string volumeId, string boxName, CancellationToken cancellationToken) =>
        ColdBootAsync(instanceId, volumeId, cancellationToken);

    /// <summary>Whether the box of the volume is running on the instance (or its QEMU is kept stopped for a linger).</summary>
    Task<bool> IsRunningAsync(string instanceId, string volumeId, CancellationToken cancellationToken = default);

    /// <summary>Runs a command inside the box as root over the control key, with a deadline.</summary>
    Task<BoxCommandResult> RunAsync(BoxEndpoint endpoint, string command, TimeSpan timeout, CancellationToken cancellationToken = default);

    /// <summary>
    /// Copies the box of a volume attached to the instance into a new volume <paramref name="copyVolumeId"/>
    /// (see <see cref="IInfrastructure.CopyVolumeAsync"/>). A running box is paused for the copy and goes on
    /// (its sessions survive); a box found suspended is copied as it rests. A runtime that cannot do this
    /// refuses with one clear error, and nothing changes.
    /// </summary>
    Task CopyAttachedAsync(string instanceId, string volumeId, string copyVolumeId, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken = default) =>
        throw Errors.ShellboxException.User("DuplicateRunning", "duplicate a running box: disconnect it first.");
}

/// <summary>
/// How to reach a running box: host, port, the pinned host key (OpenSSH known_hosts form) and the
/// control key file the control plane logs in with.
/// </summary>
public sealed record BoxEndpoint(string Host, int Port, string HostKey, string ControlKeyPath);

public sealed record BoxCommandResult(int ExitCode, string StdOut, string StdErr);
