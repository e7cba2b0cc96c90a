using Shellbox.Core.Lifecycle;
using Shellbox.CrashTrials;
using Xunit.Abstractions;

namespace Shellbox.Local.Tests.Crash;

/// <summary>
/// Issue 9 part 2, one trial per crash point (bench/CrashTrials runs 20 per point): a child process running
/// connect, disconnect, reconcile (also one retiring a ready pair whose QEMU died with the host), remove or duplicate is killed at the step (SIGKILL, through SHELLBOX_CRASH_AT), then ONE
/// reconcile runs after every mark and lease has expired. GIVEN box dev1 with a file written and synced before the
/// kill, THEN nothing leaked or stuck, no double claim, dev1 connects with its file intact, and (where a ready pair is at
/// stake) a new box still resumes from a ready pair: a host that died mid-pair must not leave the pool booting boxes cold.
/// </summary>
[Collection(GoldenCollection.Name)]
public sealed class CrashRecoveryTests(GoldenFixture golden, ITestOutputHelper output)
{
    [Theory]
    [InlineData(CrashPoints.AfterClaim)]
    [InlineData(CrashPoints.AfterAttach)]
    [InlineData(CrashPoints.DuringResume)]
    [InlineData(CrashPoints.DuringSuspend)]
    [InlineData(CrashPoints.DuringCreate)]
    [InlineData(CrashPoints.DuringDelete)]
    [InlineData(CrashPoints.DuringMake)]
    [InlineData(CrashPoints.DuringDuplicate)]
    [InlineData(CrashPoints.DuringRetire)]
    [InlineData(CrashPoints.DuringPair)]
    public async Task GivenTheProcessIsKilledAtAStep_WhenOneReconcileRuns_ThenEverythingIsRecoveredAndTheBoxFileIsIntact(string point)
    {
        Assert.NotNull(golden.Golden);
        var state = Directory.CreateTempSubdirectory("shellbox-crash-").FullName;
        try
        {
            var setup = new TrialSetup(state, GoldenFixture.FreePortBlock(TrialSetup.Slots), Path.Combine(GoldenFixture.RepositoryRoot(), ".cache"));

            // Whether the pool still serves is asked where a ready pair is at stake (the bench asks it at every point).
            var servesAtStake = point is CrashPoints.DuringPair or CrashPoints.DuringRetire;
            var outcome = await new CrashTrial(setup, point, checkServes: servesAtStake).RunAsync(typeof(CrashTrial).Assembly.Location);

            output.WriteLine(outcome.ToString());
            Assert.True(outcome.Killed, $"the child was not killed at {point}: {outcome}");
            Assert.Empty(outcome.Problems);
            Assert.Equal((0, 0, 0, true, servesAtStake), (outcome.Leaked, outcome.Stuck, outcome.DoubleClaims, outcome.DataIntact, outcome.Serves));
        }
        finally
        {
            await CrashTrial.CleanUpAsync(state);
        }
    }

    [Fact]
    public async Task GivenARemovalKilledAfterItsMarks_WhenReconciledBeforeTheMarksExpire_ThenTheChecksSeeTheBoxStuck()
    {
        Assert.NotNull(golden.Golden);
        var state = Directory.CreateTempSubdirectory("shellbox-crash-").FullName;
        try
        {
            var setup = new TrialSetup(state, GoldenFixture.FreePortBlock(TrialSetup.Slots), Path.Combine(GoldenFixture.RepositoryRoot(), ".cache"));

            var outcome = await new CrashTrial(setup, CrashPoints.DuringDelete, recoverAfter: TimeSpan.Zero).RunAsync(typeof(CrashTrial).Assembly.Location);

            output.WriteLine(outcome.ToString());
            Assert.True(outcome.Killed);
            Assert.False(outcome.Recovered);
            Assert.Contains(outcome.Problems, p => p.Contains("still marked", StringComparison.Ordinal));
        }
        finally
        {
            await CrashTrial.CleanUpAsync(state);
        }
    }
}
