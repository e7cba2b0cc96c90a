namespace Shellbox.Core.Model;

/// <summary>One thing that happened to the pool, kept for operators and for back-off decisions.</summary>
public sealed record PoolEvent(
    DateTimeOffset Timestamp,
    string CorrelationId,
    string Kind,
    string Role,
    string? ResourceId,
    bool Succeeded,
    string Message);
