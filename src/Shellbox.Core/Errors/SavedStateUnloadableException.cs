namespace Shellbox.Core.Errors;

/// <summary>
/// A saved state that is there but will not load: corrupt (<see cref="SavedStateCorruptException"/>) or saved by another
/// machine (<see cref="MachineMismatchException"/>). A user's box is never booted over it (an operator's -ColdBoot
/// discards it); a clone that is no one's box yet is deleted or booted from its disk instead. Unlike a missing state
/// (<see cref="SavedStateMissingException"/>), the box did not lose its running programs: they are in the state.
/// </summary>
public abstract class SavedStateUnloadableException(ShellboxErrorKind kind, string errorId, string message, Exception? inner)
    : ShellboxException(kind, errorId, message, inner)
{
    /// <summary>The same error with <paramref name="hint"/> (what an operator can do) after its message; this one as its inner.</summary>
    public abstract SavedStateUnloadableException WithHint(string hint);
}
