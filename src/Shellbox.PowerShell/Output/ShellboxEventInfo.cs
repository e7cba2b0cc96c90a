using Shellbox.Core.Model;

namespace Shellbox.PowerShell.Output;

/// <summary>One event of the pool log.</summary>
public sealed class ShellboxEventInfo(PoolEvent e)
{
    public DateTimeOffset Timestamp { get; } = e.Timestamp;

    public string CorrelationId { get; } = e.CorrelationId;

    public string Kind { get; } = e.Kind;

    public string Role { get; } = e.Role;

    public string? ResourceId { get; } = e.ResourceId;

    public bool Succeeded { get; } = e.Succeeded;

    public string Message { get; } = e.Message;
}
