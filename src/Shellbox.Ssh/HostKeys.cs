using Shellbox.Core.Errors;

namespace Shellbox.Ssh;

/// <summary>Host keys as OpenSSH writes them: "ssh-ed25519 AAAA..." and the known_hosts line "[host]:port ssh-ed25519 AAAA...".</summary>
public static class HostKeys
{
    public static string KnownHostsLine(string host, int port, string hostKey) => $"[{host}]:{port} {hostKey}";

    /// <summary>The "type base64" part of a known_hosts line (or of a bare key).</summary>
    public static string FromKnownHostsLine(string line)
    {
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return parts.Length switch
        {
            >= 3 => $"{parts[1]} {parts[2]}",
            2 => $"{parts[0]} {parts[1]}",
            _ => throw ShellboxException.User("HostKeyInvalid", "The box endpoint carries no host key in known_hosts form."),
        };
    }

    /// <summary>Finds "ssh-ed25519 AAAA..." in a command's output (shellbox-rekey prints it).</summary>
    public static string? FindEd25519(string output) =>
        output.Split('\n', StringSplitOptions.TrimEntries)
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(p => p.Length >= 2 && p[0] == "ssh-ed25519")
            .Select(p => $"{p[0]} {p[1]}")
            .FirstOrDefault();
}
