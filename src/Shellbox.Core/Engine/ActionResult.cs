namespace Shellbox.Core.Engine;

/// <summary>What one executed step did: the resource it acted on (when it made or found one) and one line for the event log.</summary>
internal sealed record ActionResult(string? ResourceId, string Message);
