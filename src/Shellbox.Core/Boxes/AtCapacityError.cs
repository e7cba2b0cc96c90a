using Shellbox.Core.Engine;
using Shellbox.Core.Errors;
using Shellbox.Core.Store;

namespace Shellbox.Core.Boxes;

/// <summary>
/// The one line a connect or a spinup refused by a cap gets (the pool's caps, or the provider's own room). The
/// user can act on it: the pool may not grow, so a retry can succeed once a box leaves or the next reconcile pass
/// (one CheckInterval away at most) has taken back what dead sessions held.
/// </summary>
internal static class AtCapacityError
{
    /// <summary>The error id (the ssh wrapper shows its message as written).</summary>
    public const string Id = "AtCapacity";

    public static ShellboxException For(ShellboxEngine engine, CapacityLimit limit)
    {
        var retrySeconds = Math.Max(1, (int)Math.Ceiling(engine.Settings.Pool.CheckInterval.TotalSeconds));
        return ShellboxException.Service(Id, $"At capacity: all {limit.Cap} {limit.Role}s the pool may have are in use or being made; retry in {retrySeconds} s.");
    }
}
