namespace Shellbox.Core.Errors;

/// <summary>
/// Thrown by <see cref="Ports.IBoxRuntime.ResumeAsync"/> when the volume has a saved state that cannot be loaded
/// (corrupt, truncated, refused by QEMU). Nothing was started and the disk is untouched. Unlike a missing state it is
/// never booted over for a user's box (the state stays for diagnosis); a free clone, no one's box, is deleted instead.
/// Every runtime throws this type; its <see cref="ShellboxException.ErrorId"/> stays "DeviceStateInvalid".
/// </summary>
public sealed class SavedStateCorruptException(string message, Exception? inner = null)
    : SavedStateUnloadableException(ShellboxErrorKind.Service, Id, message, inner)
{
    public const string Id = "DeviceStateInvalid";

    public override SavedStateUnloadableException WithHint(string hint) => new SavedStateCorruptException($"{Message} {hint}", this);
}
