using System.Text;

namespace Shellbox.PowerShell.Hosting;

/// <summary>The default user id at a prompt: $SHELLBOX_USER, else the login name folded to the id alphabet.</summary>
internal static class UserIds
{
    public static string Default()
    {
        var explicitId = Environment.GetEnvironmentVariable("SHELLBOX_USER");
        if (!string.IsNullOrWhiteSpace(explicitId))
        {
            return explicitId;
        }

        var folded = new StringBuilder();
        foreach (var c in Environment.UserName.ToLowerInvariant())
        {
            folded.Append(c is >= 'a' and <= 'z' or >= '0' and <= '9' or '-' or '_' ? c : '-');
        }

        return folded.Length == 0 ? "user" : folded.ToString();
    }
}
