namespace Shellbox.CrashTrials;

/// <summary>
/// What one crash trial found after its one recovery reconcile. <see cref="Problems"/> names every failed check;
/// a trial recovered when the child was killed at its point and no check failed.
/// </summary>
public sealed record TrialOutcome(
    string Point,
    bool Killed,
    int Leaked,
    int Stuck,
    int DoubleClaims,
    bool DataIntact,
    IReadOnlyList<string> Problems)
{
    /// <summary>After the recovery, a new box resumed from a ready pair that reconcile made (not booted cold).</summary>
    public bool Serves { get; init; }

    public bool Recovered => Killed && Problems.Count == 0;

    public override string ToString() =>
        $"{Point}: killed={Killed} leaked={Leaked} stuck={Stuck} double_claims={DoubleClaims} data_intact={DataIntact} serves={Serves}"
        + (Problems.Count == 0 ? "" : $" problems=[{string.Join("; ", Problems)}]");
}
