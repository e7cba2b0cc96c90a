namespace Shellbox.Core.Errors;

/// <summary>
/// Thrown by <see cref="Ports.IBoxRuntime.ResumeAsync"/> when the volume's state was saved by a machine other than the
/// one the settings make now (memory size, CPU, devices): it only resumes with the settings it was made with, or the box
/// is started fresh from its disk. Nothing was started. Every runtime throws this type; its ErrorId stays "MachineMismatch".
/// </summary>
public sealed class MachineMismatchException(string message, Exception? inner = null)
    : SavedStateUnloadableException(ShellboxErrorKind.User, Id, message, inner)
{
    public const string Id = "MachineMismatch";

    public override SavedStateUnloadableException WithHint(string hint) => new MachineMismatchException($"{Message} {hint}", this);
}
