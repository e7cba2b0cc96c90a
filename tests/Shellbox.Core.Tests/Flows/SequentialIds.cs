using Shellbox.Core.Ports;

namespace Shellbox.Core.Tests.Flows;

/// <summary>Predictable ids: "instance-0001", "volume-0002", correlation "c0003"; safe across threads.</summary>
public sealed class SequentialIds : IIdGenerator
{
    private int resources;
    private int correlations;

    public string NewResourceId(string role) => $"{role}-{Interlocked.Increment(ref resources):D4}";

    public string NewCorrelationId() => $"c{Interlocked.Increment(ref correlations):D4}";
}
