using System.Diagnostics;

namespace Shellbox.Core.Lifecycle;

/// <summary>
/// TEST ONLY: named steps of the lifecycle where a crash test kills this process, as kill -9 would, to prove the
/// next reconcile recovers. Off unless the environment variable <see cref="Variable"/> names a step (the crash
/// trials in tests/Shellbox.Local.Tests/Crash and bench/ set it on a child process they mean to lose); a
/// production process never sets it, and then <see cref="Reach"/> is one cached comparison.
/// </summary>
public static class CrashPoints
{
    public const string Variable = "SHELLBOX_CRASH_AT";

    /// <summary>A connect has claimed (bound) its instance and volume, before any provider call.</summary>
    public const string AfterClaim = "after-claim";

    /// <summary>A connect has attached the volume, before the resume.</summary>
    public const string AfterAttach = "after-attach";

    /// <summary>The box has been resumed, before the store records it running.</summary>
    public const string DuringResume = "during-resume";

    /// <summary>The box is marked releasing and suspended, before its volume is detached.</summary>
    public const string DuringSuspend = "during-suspend";

    /// <summary>A volume or instance row is marked creating, before the provider creates it.</summary>
    public const string DuringCreate = "during-create";

    /// <summary>A row is marked deleting (scale-down, reset or a box removal), before the provider deletes it.</summary>
    public const string DuringDelete = "during-delete";

    /// <summary>A connect's slow path holds what was free and has inserted its creating rows, before the provider makes them.</summary>
    public const string DuringMake = "during-make";

    /// <summary>A duplicate has written the copy's box and volume rows (marked) and marked its source, before the provider copies the volume.</summary>
    public const string DuringDuplicate = "during-duplicate";

    /// <summary>A dead ready pair's volume is marked for deletion and its instance leased, before the volume is detached and deleted.</summary>
    public const string DuringRetire = "during-retire";

    /// <summary>Reconcile has resumed the box of a ready pair it makes, before the store records the pair (its lease still on).</summary>
    public const string DuringPair = "during-pair";

    public static readonly IReadOnlyList<string> All = [AfterClaim, AfterAttach, DuringResume, DuringSuspend, DuringCreate, DuringDelete, DuringMake, DuringDuplicate, DuringRetire, DuringPair];

    private static readonly string? Armed = Environment.GetEnvironmentVariable(Variable);

    /// <summary>Kills this process at once (SIGKILL: no finally block, no flush) when <paramref name="step"/> is the armed one.</summary>
    public static void Reach(string step)
    {
        if (Armed is not null && string.Equals(Armed, step, StringComparison.Ordinal))
        {
            Console.Error.WriteLine($"shellbox: crash point {step} reached, killing process {Environment.ProcessId}");
            Process.GetCurrentProcess().Kill();
            Thread.Sleep(Timeout.Infinite);
        }
    }
}
