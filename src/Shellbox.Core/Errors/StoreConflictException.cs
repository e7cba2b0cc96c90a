namespace Shellbox.Core.Errors;

/// <summary>A conditional write lost: the row changed (or appeared, or vanished) since it was read.</summary>
public sealed class StoreConflictException : ShellboxException
{
    public StoreConflictException(string key, string reason)
        : base(ShellboxErrorKind.Conflict, "StoreConflict", $"The pool store row '{key}' {reason}; it was changed by someone else, read it again.")
    {
        Key = key;
    }

    public string Key { get; }
}
