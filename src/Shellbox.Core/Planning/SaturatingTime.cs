namespace Shellbox.Core.Planning;

/// <summary>Time arithmetic that clamps at the ends of the calendar, so the planner stays total on odd inputs.</summary>
internal static class SaturatingTime
{
    public static DateTimeOffset Add(DateTimeOffset at, TimeSpan span)
    {
        var ticks = at.UtcTicks;
        var max = DateTimeOffset.MaxValue.UtcTicks;
        var min = DateTimeOffset.MinValue.UtcTicks;
        var sum = span.Ticks >= 0
            ? (span.Ticks > max - ticks ? max : ticks + span.Ticks)
            : (span.Ticks < min - ticks ? min : ticks + span.Ticks);
        return new DateTimeOffset(sum, TimeSpan.Zero);
    }
}
