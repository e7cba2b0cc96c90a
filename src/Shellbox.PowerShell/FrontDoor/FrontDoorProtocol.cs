using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Shellbox.PowerShell.FrontDoor;

/// <summary>
/// The front door's protocol on its Unix socket: JSON, one object per line, UTF-8.
/// The wrapper sends one <see cref="FrontDoorRequest"/>. The front door answers with lines {"out": TEXT} and
/// {"err": TEXT} (the wrapper writes them to its stdout and stderr as they come), then either {"exit": N} (the
/// wrapper exits N) or {"ssh": [ARGS]}: the wrapper runs ssh with exactly those arguments on its own terminal, then
/// sends {"exit": N} with ssh's exit code and exits with it. The session is open (heartbeating) from the "ssh" line
/// until that "exit" line or the socket closes, whichever comes first; the front door then releases it (the last
/// session out suspends the box) after the wrapper has gone.
/// </summary>
internal static class FrontDoorProtocol
{
    /// <summary>A request line longer than this is refused: a command is at most 4096 characters, a public key a few KB.</summary>
    public const int MaxRequestLength = 32 * 1024;

    public static readonly JsonSerializerOptions Json = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static string Out(string text) => JsonSerializer.Serialize(new FrontDoorReply { Out = text }, Json);

    public static string Err(string text) => JsonSerializer.Serialize(new FrontDoorReply { Err = text }, Json);

    public static string Exit(int code) => JsonSerializer.Serialize(new FrontDoorReply { Exit = code }, Json);

    public static string Ssh(IReadOnlyList<string> arguments) => JsonSerializer.Serialize(new FrontDoorReply { Ssh = arguments }, Json);
}

/// <summary>What the wrapper asks: the user's key ('TYPE BASE64'), what they typed after `ssh HOST`, and whether sshd gave them a terminal.</summary>
internal sealed record FrontDoorRequest(
    [property: JsonPropertyName("key")] string Key,
    [property: JsonPropertyName("command")] string Command,
    [property: JsonPropertyName("interactive")] bool Interactive);

/// <summary>One line either way: exactly one property set.</summary>
internal sealed record FrontDoorReply
{
    [JsonPropertyName("out")]
    public string? Out { get; init; }

    [JsonPropertyName("err")]
    public string? Err { get; init; }

    [JsonPropertyName("ssh")]
    public IReadOnlyList<string>? Ssh { get; init; }

    [JsonPropertyName("exit")]
    public int? Exit { get; init; }
}
