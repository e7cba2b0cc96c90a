namespace Shellbox.Agent;

/// <summary>
/// The "--name value" options after a command's positional arguments. Each must be one the command knows,
/// given at most once, with a value; anything else makes the whole command line a usage error (null), so a
/// mistyped option never runs a command with a default in its place.
/// </summary>
internal static class AgentOptions
{
    public static IReadOnlyDictionary<string, string>? Parse(IReadOnlyList<string> rest, params string[] known)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < rest.Count; i += 2)
        {
            if (i + 1 >= rest.Count || !known.Contains(rest[i], StringComparer.Ordinal) || !options.TryAdd(rest[i], rest[i + 1]))
            {
                return null;
            }
        }

        return options;
    }
}
