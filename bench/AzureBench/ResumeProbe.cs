using Shellbox.Core.Ports;

namespace Shellbox.AzureBench;

/// <summary>
/// The box runtime of this benchmark: it records when a connect asks for the resume and answers at once. Seed 003
/// measures "time before QEMU starts"; resume itself is the same QEMU work in both flows and is measured by the
/// Local benchmark, so it is left out of both sides here.
/// </summary>
internal sealed class ResumeProbe : IBoxRuntime
{
    private readonly HashSet<(string, string)> running = [];

    public Task<BoxEndpoint> ResumeAsync(string instanceId, string volumeId, CancellationToken cancellationToken = default)
    {
        lock (running)
        {
            running.Add((instanceId, volumeId));
        }

        return Task.FromResult(new BoxEndpoint("127.0.0.1", 2222, "", ""));
    }

    public Task SuspendAsync(string instanceId, string volumeId, CancellationToken cancellationToken = default)
    {
        lock (running)
        {
            running.Remove((instanceId, volumeId));
        }

        return Task.CompletedTask;
    }

    public Task<BoxEndpoint> ColdBootAsync(string instanceId, string volumeId, CancellationToken cancellationToken = default) =>
        ResumeAsync(instanceId, volumeId, cancellationToken);

    public Task<bool> IsRunningAsync(string instanceId, string volumeId, CancellationToken cancellationToken = default)
    {
        lock (running)
        {
            return Task.FromResult(running.Contains((instanceId, volumeId)));
        }
    }

    public Task<BoxCommandResult> RunAsync(BoxEndpoint endpoint, string command, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        Task.FromResult(new BoxCommandResult(0, "", ""));
}
