namespace Shellbox.Core.Errors;

/// <summary>Who has to act on an error: the caller (bad input), the service (a dependency failed), or us (a bug).</summary>
public enum ShellboxErrorKind
{
    User,
    NotFound,
    Conflict,
    Service,
    Internal,
}

/// <summary>
/// The one exception type the library throws on purpose. The message is one sentence a user can act on;
/// it never carries secrets, keys or connection strings.
/// </summary>
public class ShellboxException : Exception
{
    public ShellboxException(ShellboxErrorKind kind, string errorId, string message, Exception? inner = null)
        : base(message, inner)
    {
        Kind = kind;
        ErrorId = errorId;
    }

    public ShellboxErrorKind Kind { get; }

    /// <summary>A stable reason, e.g. "PoolConfigInvalid"; cmdlets prefix it with their own name.</summary>
    public string ErrorId { get; }

    public static ShellboxException User(string errorId, string message) => new(ShellboxErrorKind.User, errorId, message);

    public static ShellboxException NotFound(string errorId, string message) => new(ShellboxErrorKind.NotFound, errorId, message);

    public static ShellboxException Service(string errorId, string message, Exception? inner = null) =>
        new(ShellboxErrorKind.Service, errorId, message, inner);
}
