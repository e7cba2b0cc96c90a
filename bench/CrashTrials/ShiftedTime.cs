namespace Shellbox.CrashTrials;

/// <summary>The real clock moved ahead by a fixed span: the recovery reconcile runs after every mark and lease has expired.</summary>
public sealed class ShiftedTime(TimeSpan ahead) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => TimeProvider.System.GetUtcNow() + ahead;
}
