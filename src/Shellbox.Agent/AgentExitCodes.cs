using Shellbox.Core.Errors;

namespace Shellbox.Agent;

/// <summary>
/// The agent's exit codes: 0 done; one per <see cref="ShellboxErrorKind"/> so the control plane rebuilds the
/// same error (stderr carries "ErrorId: message" on one line); 64 a bad command line.
/// </summary>
internal static class AgentExitCodes
{
    public const int Ok = 0;
    public const int Internal = 1;
    public const int User = 2;
    public const int NotFound = 3;
    public const int Conflict = 4;
    public const int Service = 5;
    public const int Usage = 64;

    public static int For(ShellboxErrorKind kind) => kind switch
    {
        ShellboxErrorKind.User => User,
        ShellboxErrorKind.NotFound => NotFound,
        ShellboxErrorKind.Conflict => Conflict,
        ShellboxErrorKind.Service => Service,
        _ => Internal,
    };
}
