using Shellbox.Core.Errors;

namespace Shellbox.Local.Qmp;

/// <summary>QEMU refused a QMP command, or the connection ended; the message is QEMU's description.</summary>
public sealed class QmpException : ShellboxException
{
    public QmpException(string command, string errorClass, string description)
        : base(ShellboxErrorKind.Service, "QemuCommandFailed", $"QEMU refused '{command}': {description}")
    {
        Command = command;
        ErrorClass = errorClass;
        Description = description;
    }

    public string Command { get; }

    /// <summary>QMP's error class, e.g. "GenericError", or "ConnectionClosed" when QEMU went away.</summary>
    public string ErrorClass { get; }

    public string Description { get; }
}
