using System.Globalization;
using System.Text.RegularExpressions;
using Shellbox.Core.Engine;
using Shellbox.Core.Model;
using Shellbox.Core.Observability;
using Shellbox.Core.Settings;

namespace Shellbox.Core.Boxes;

/// <summary>
/// How long the slow path takes, for the "about N s" a user is told: the median of the last few slow paths of the
/// same work (<see cref="SlowPathWork"/>) on this pool (an event each, read by kind: a handful of rows), or before
/// the first one a figure per provider.
/// </summary>
internal static partial class SlowPathTimes
{
    /// <summary>The event kind of a finished slow-path connect; its message carries seconds=S.S.</summary>
    public const string EventKind = "slow-path";

    /// <summary>The event kind of a finished slow-path spinup (a volume made, nothing resumed); seconds=S.S too.</summary>
    public const string VolumeEventKind = "slow-path-volume";

    private const int Recent = 5;

    /// <summary>
    /// Before any was measured here. A box: Local makes a qcow2 overlay and a slot and resumes the clone for the first
    /// time (RAM copied from the golden, rekey, reseed, clock): 8.7 s p50 for the Debian guest on a busy 2-core TCG
    /// host, 2.4 s for the minimal one (bench/Measure-SlowPath.ps1), so 10 s; a cloud provider creates a VM and a
    /// managed disk, minutes. A volume alone: Local runs qemu-img create and copies the small device state (well
    /// under a second), so 1 s; a cloud provider creates a managed disk from the golden, about a minute.
    /// </summary>
    public static TimeSpan FirstGuess(string provider, SlowPathWork work) =>
        (string.Equals(provider, ShellboxSettings.LocalProvider, StringComparison.OrdinalIgnoreCase), work) switch
        {
            (true, SlowPathWork.Box) => TimeSpan.FromSeconds(10),
            (true, _) => TimeSpan.FromSeconds(1),
            (false, SlowPathWork.Box) => TimeSpan.FromMinutes(3),
            (false, _) => TimeSpan.FromMinutes(1),
        };

    public static async Task<int> EstimateSecondsAsync(ShellboxEngine engine, SlowPathWork work, CancellationToken cancellationToken)
    {
        var events = await engine.Store.QueryEventsAsync(new EventQuery { Kind = KindOf(work), Max = Recent }, cancellationToken).ConfigureAwait(false);
        var measured = events.Where(e => e.Succeeded).Select(e => SecondsOf(e.Message)).OfType<double>().Order().ToList();
        var seconds = measured.Count == 0 ? FirstGuess(engine.Settings.Provider, work).TotalSeconds : measured[measured.Count / 2];
        return Math.Max(1, (int)Math.Ceiling(seconds));
    }

    public static Task RecordAsync(ShellboxEngine engine, ConnectTrace trace, BoxRecord box, SlowPathWork work, CancellationToken cancellationToken) =>
        engine.Store.AppendEventAsync(new PoolEvent(
            engine.Time.GetUtcNow(), trace.CorrelationId, KindOf(work), "box", box.Id, true,
            string.Create(CultureInfo.InvariantCulture, $"box {box.UserId}/{box.BoxName} took the slow path ({trace.Path}): seconds={trace.Total.TotalSeconds:0.0}")), cancellationToken);

    private static string KindOf(SlowPathWork work) => work == SlowPathWork.Volume ? VolumeEventKind : EventKind;
    private static double? SecondsOf(string message) =>
        SecondsPattern().Match(message) is { Success: true } m && double.TryParse(m.Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var s) ? s : null;

    [GeneratedRegex(@"seconds=(\d+(?:\.\d+)?)")]
    private static partial Regex SecondsPattern();
}
