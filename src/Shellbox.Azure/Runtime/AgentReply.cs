using System.Text.Json;
using Shellbox.Core.Errors;

namespace Shellbox.Azure.Runtime;

/// <summary>
/// Reads what shellbox-agent (src/Shellbox.Agent) answered: one JSON object on stdout when it exits 0; else
/// "ErrorId: message" on stderr and an exit code per error kind (2 user, 3 not found, 4 conflict,
/// 5 service, 1 internal), rebuilt here into the same <see cref="ShellboxException"/> the code on the
/// instance threw, so Core tells a lost state, a refused resume and a broken instance apart as on Local.
/// </summary>
internal static class AgentReply
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static T Read<T>(AgentResult result, string command)
    {
        if (result.ExitCode != 0)
        {
            throw Error(result, command);
        }

        try
        {
            return JsonSerializer.Deserialize<T>(result.StdOut, Json)
                ?? throw new JsonException("empty");
        }
        catch (JsonException e)
        {
            throw ShellboxException.Service("AgentReplyInvalid", $"shellbox-agent {command} answered something other than its JSON result: {e.Message}", e);
        }
    }

    public static ShellboxException Error(AgentResult result, string command)
    {
        var line = result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "";
        var colon = line.IndexOf(": ", StringComparison.Ordinal);
        var errorId = colon > 0 && line[..colon].All(char.IsAsciiLetterOrDigit) ? line[..colon] : null;
        var message = errorId is null ? line : line[(colon + 2)..];
        if (errorId == SavedStateMissingException.Id)
        {
            return new SavedStateMissingException(message);
        }

        if (errorId == SavedStateCorruptException.Id)
        {
            return new SavedStateCorruptException(message);
        }

        if (errorId == MachineMismatchException.Id)
        {
            return new MachineMismatchException(message);
        }

        if (result.ExitCode == 127)
        {
            return ShellboxException.Service("AgentMissing", "shellbox-agent is not installed on the instance (its shell found no such command).");
        }

        var kind = result.ExitCode switch
        {
            2 => ShellboxErrorKind.User,
            3 => ShellboxErrorKind.NotFound,
            4 => ShellboxErrorKind.Conflict,
            5 => ShellboxErrorKind.Service,
            _ => ShellboxErrorKind.Internal,
        };
        return errorId is not null
            ? new ShellboxException(kind, errorId, message)
            : ShellboxException.Service("AgentFailed", $"shellbox-agent {command} failed on the instance (exit {result.ExitCode}){(line.Length > 0 ? $": {line}" : ".")}");
    }
}

// The agent's JSON results (src/Shellbox.Agent/AgentOutput.cs), as the control plane reads them.

/// <summary>
/// resume, cold-boot: the box answers at Host:Port; HostKey is pinned, or null before a clone's first rekey; BoxName
/// the name kept on the volume, Hostname the one its guest last took (null from an agent older than hostnames).
/// </summary>
internal sealed record AgentBoxStart(string VolumeId, string Host, int Port, string? HostKey, string GoldenHostKey, bool WasRunning, string? BoxName = null, string? Hostname = null, bool SettledByAgent = false);

internal sealed record AgentSuspend(string VolumeId, bool Suspended);

internal sealed record AgentStatus(string VolumeId, bool Attached, bool Running, string? HostKey, string? HeldForCopy = null);

/// <summary>hold-for-copy: the box was held (paused when WasRunning) until the copy was released, and goes on.</summary>
internal sealed record AgentHold(string VolumeId, string CopyVolumeId, bool WasRunning, int HeldMs);

internal sealed record AgentRelease(string VolumeId, string CopyVolumeId, bool Made);

internal sealed record AgentPin(string VolumeId, string HostKey);

internal sealed record AgentHostname(string VolumeId, string Hostname);

/// <summary>build-golden: the golden version laid onto the data disk and the host key its box presents.</summary>
public sealed record AgentGolden(string Version, string HostKey, string Machine, DateTimeOffset Created);
