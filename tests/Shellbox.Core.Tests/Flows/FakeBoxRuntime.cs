using Shellbox.Core.Errors;
using System.Collections.Concurrent;
using Shellbox.Core.Ports;

namespace Shellbox.Core.Tests.Flows;

/// <summary>
/// In-memory runtime: which box runs on which instance, every call recorded in <see cref="Log"/>. A resume
/// of a running box is idempotent (a warm resume); a cold resume needs the volume attached to the instance.
/// </summary>
public sealed class FakeBoxRuntime(FakeInfrastructure infrastructure) : IBoxRuntime
{
    private readonly ConcurrentDictionary<string, string> running = new(StringComparer.Ordinal); // instance -> volume
    private int coldResumes;

    public CallLog Log { get; } = new();

    /// <summary>Resumes of a box that was not running (a real QEMU start).</summary>
    public int ColdResumes => Volatile.Read(ref coldResumes);

    /// <summary>Forgets the recorded calls and the cold-resume count.</summary>
    public void Clear()
    {
        Log.Clear();
        Interlocked.Exchange(ref coldResumes, 0);
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> lost = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Func<ShellboxException>> refused = new();

    public bool IsRunning(string instanceId, string volumeId) => running.TryGetValue(instanceId, out var v) && v == volumeId;

    public bool RunsOn(string instanceId) => running.ContainsKey(instanceId);

    /// <summary>Marks a box running without recording a call (test setup).</summary>
    public void SeedRunning(string instanceId, string volumeId) => running[instanceId] = volumeId;

    public async Task<BoxEndpoint> ResumeAsync(string instanceId, string volumeId, CancellationToken cancellationToken = default)
    {
        await Log.RecordAsync(nameof(ResumeAsync), instanceId, volumeId);
        if (!IsRunning(instanceId, volumeId) && lost.ContainsKey(volumeId))
        {
            throw new SavedStateMissingException($"Volume '{volumeId}' has no saved state.");
        }

        if (!IsRunning(instanceId, volumeId) && refused.TryGetValue(volumeId, out var refusal))
        {
            throw refusal();
        }

        if (!IsRunning(instanceId, volumeId))
        {
            if (infrastructure.AttachedTo(instanceId) != volumeId)
            {
                throw new InvalidOperationException($"Box of {volumeId} resumed on {instanceId}, where it is not attached.");
            }

            if (!running.TryAdd(instanceId, volumeId))
            {
                throw new InvalidOperationException($"Instance {instanceId} already runs the box of {running[instanceId]}.");
            }

            Interlocked.Increment(ref coldResumes);
        }

        return new BoxEndpoint("127.0.0.1", 2222, $"[127.0.0.1]:2222 ssh-ed25519 {instanceId}", "/keys/control");
    }

    /// <summary>The box of the volume died without a suspend (host crash): its saved state is gone.</summary>
    public void LoseState(string volumeId)
    {
        foreach (var (instance, volume) in running.ToArray())
        {
            if (volume == volumeId)
            {
                running.TryRemove(instance, out _);
            }
        }

        lost[volumeId] = true;
    }

    /// <summary>The saved state of the (suspended) volume is damaged: a resume refuses it, nothing boots over it.</summary>
    public void CorruptState(string volumeId) => refused[volumeId] = () => new SavedStateCorruptException($"Volume '{volumeId}' has a corrupt saved state.");

    /// <summary>The volume's state was saved under other machine settings: a resume refuses it until a cold boot.</summary>
    public void MismatchMachine(string volumeId) => refused[volumeId] = () => new MachineMismatchException($"Volume '{volumeId}' was suspended by another machine.");

    public async Task<BoxEndpoint> ColdBootAsync(string instanceId, string volumeId, CancellationToken cancellationToken = default)
    {
        await Log.RecordAsync(nameof(ColdBootAsync), instanceId, volumeId);
        lost.TryRemove(volumeId, out _);
        refused.TryRemove(volumeId, out _); // a boot from the disk discards the saved state, under the machine of now
        running[instanceId] = volumeId;
        return new BoxEndpoint("127.0.0.1", 2222, $"[127.0.0.1]:2222 ssh-ed25519 {instanceId}", "/keys/control");
    }

    public async Task SuspendAsync(string instanceId, string volumeId, CancellationToken cancellationToken = default)
    {
        await Log.RecordAsync(nameof(SuspendAsync), instanceId, volumeId);
        running.TryRemove(new KeyValuePair<string, string>(instanceId, volumeId));
    }

    public async Task<bool> IsRunningAsync(string instanceId, string volumeId, CancellationToken cancellationToken = default)
    {
        await Log.RecordAsync(nameof(IsRunningAsync), instanceId, volumeId);
        return IsRunning(instanceId, volumeId);
    }

    public async Task<BoxCommandResult> RunAsync(BoxEndpoint endpoint, string command, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        await Log.RecordAsync(nameof(RunAsync), endpoint.Host, command);
        return new BoxCommandResult(0, "", "");
    }
}
