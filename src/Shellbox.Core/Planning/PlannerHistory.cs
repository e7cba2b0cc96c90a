namespace Shellbox.Core.Planning;

/// <summary>What the planner remembers between passes: the last scale-down and the create failures of each role.</summary>
public sealed record PlannerHistory(
    DateTimeOffset? LastInstanceScaleDown,
    DateTimeOffset? LastVolumeScaleDown,
    FailureHistory? InstanceFailures,
    FailureHistory? VolumeFailures);
