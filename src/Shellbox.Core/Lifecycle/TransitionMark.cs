namespace Shellbox.Core.Lifecycle;

/// <summary>
/// The intermediate mark of a multi-row transition: which act, who runs it (its correlation id) and until when.
/// Written before the slow provider call and cleared after; a mark whose <see cref="ExpiresAt"/> has passed
/// belongs to a holder that crashed or failed, and the next reconcile finishes or undoes it
/// (<see cref="TransitionRepair"/>). Never a bare flag: a reader can always tell the acts apart.
/// </summary>
public sealed record TransitionMark(TransitionAct Act, string Owner, DateTimeOffset ExpiresAt)
{
    public bool IsExpired(DateTimeOffset now) => now >= ExpiresAt;

    /// <summary>How long each act may take before reconcile treats its holder as gone.</summary>
    public static TimeSpan DurationOf(TransitionAct act) => act switch
    {
        // A suspend takes about a second and a detach one provider call; a connect waits this long for a release.
        TransitionAct.Release or TransitionAct.Unpair => TimeSpan.FromSeconds(90),
        TransitionAct.Remove or TransitionAct.Duplicate => TimeSpan.FromMinutes(5),

        // Provider creates and deletes are slow in the cloud (an Azure VM: minutes).
        _ => TimeSpan.FromMinutes(10),
    };

    public static TransitionMark Start(TransitionAct act, string owner, DateTimeOffset now) => new(act, owner, now + DurationOf(act));
}
