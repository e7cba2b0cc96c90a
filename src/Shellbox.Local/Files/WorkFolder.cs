namespace Shellbox.Local.Files;

/// <summary>
/// The dot-folders a build, copy or delete works in. Every reader ignores a dot-folder, so one that cannot be
/// deleted now is left behind with a log line (and swept later), never an error for the caller.
/// </summary>
internal static class WorkFolder
{
    /// <param name="category">The log category of the caller, e.g. Shellbox.Local.Golden.</param>
    public static void TryDelete(string folder, string category)
    {
        try
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Core.Observability.ShellboxLog.Dropped(category, $"work folder={folder} left behind", e, routine: true);
        }
    }
}
