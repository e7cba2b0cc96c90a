namespace Shellbox.Core.Errors;

/// <summary>
/// Thrown by <see cref="Ports.IBoxRuntime.ResumeAsync"/> when the volume has no saved state (its box stopped
/// without a suspend): the disk is intact and only <see cref="Ports.IBoxRuntime.ColdBootAsync"/> can start it.
/// Every runtime throws this type; its <see cref="ShellboxException.ErrorId"/> stays "SavedStateMissing".
/// </summary>
public sealed class SavedStateMissingException(string message, Exception? inner = null)
    : ShellboxException(ShellboxErrorKind.Service, Id, message, inner)
{
    public const string Id = "SavedStateMissing";
}
