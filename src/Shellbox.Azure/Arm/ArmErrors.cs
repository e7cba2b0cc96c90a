using System.Text.RegularExpressions;
using Azure;
using Azure.Identity;
using Shellbox.Core.Errors;

namespace Shellbox.Azure.Arm;

/// <summary>
/// Turns what the SDK throws into one ShellboxException with one sentence: what failed, and Azure's own
/// reason. SDK messages carry the response body and headers; only the first line survives, scrubbed of
/// anything that looks like a token, key or signature.
/// </summary>
internal static partial class ArmErrors
{
    /// <summary>Runs an ARM call; any SDK failure becomes a ShellboxException naming <paramref name="what"/>.</summary>
    public static async Task<T> GuardAsync<T>(string credentialName, string what, Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception e) when (Translate(credentialName, what, e) is { } translated)
        {
            throw translated;
        }
    }

    public static async Task GuardAsync(string credentialName, string what, Func<Task> call) =>
        await GuardAsync<bool>(credentialName, what, async () =>
        {
            await call().ConfigureAwait(false);
            return true;
        }).ConfigureAwait(false);

    /// <summary>The ShellboxException for an SDK failure, or null for one that is already ours (or a cancellation).</summary>
    public static ShellboxException? Translate(string credentialName, string what, Exception e) => e switch
    {
        ShellboxException or OperationCanceledException => null,
        AuthenticationFailedException or CredentialUnavailableException =>
            ShellboxException.Service("AzureAuthenticationFailed", $"{credentialName} could not get a token to {what}: {Reason(e.Message, credentialName)}", null),
        RequestFailedException { Status: 401 } r =>
            ShellboxException.Service("AzureAuthenticationFailed", $"Azure did not accept the token of {credentialName} to {what} ({r.ErrorCode}): {Reason(r.Message)}", null),
        RequestFailedException { Status: 403 } r =>
            ShellboxException.Service("AzureAccessDenied", $"Azure refused to {what} ({r.Status} {r.ErrorCode}): the identity of {credentialName} lacks the role for it; {Reason(r.Message)}", null),
        RequestFailedException { Status: 404 } r =>
            ShellboxException.NotFound("AzureResourceNotFound", $"Could not {what}: Azure says it does not exist ({r.ErrorCode}: {Reason(r.Message)})."),
        RequestFailedException { Status: 409 } r when r.Message.Contains("quota", StringComparison.OrdinalIgnoreCase) =>
            new ShellboxException(ShellboxErrorKind.Conflict, "AzureQuotaExceeded", $"Azure refused to {what}: the subscription's quota is used up; {Reason(r.Message)}"),
        RequestFailedException { Status: 409 } r =>
            new ShellboxException(ShellboxErrorKind.Conflict, "AzureConflict", $"Azure refused to {what} ({r.ErrorCode}): {Reason(r.Message)}"),
        RequestFailedException r =>
            ShellboxException.Service("AzureRequestFailed", $"Azure could not {what} ({(r.Status == 0 ? "no answer" : r.Status.ToString(System.Globalization.CultureInfo.InvariantCulture))} {r.ErrorCode}): {Reason(r.Message)}", null),
        _ => null,
    };

    /// <summary>The first line of an SDK message, without the credential's own name and without secrets.</summary>
    public static string Reason(string message, string? credentialName = null)
    {
        var first = message.Split('\n', 2)[0].Trim();
        if (credentialName is not null && first.StartsWith(credentialName, StringComparison.Ordinal))
        {
            first = first[credentialName.Length..].TrimStart(' ', ':');
            first = first.StartsWith("authentication failed:", StringComparison.OrdinalIgnoreCase) ? first["authentication failed:".Length..].Trim() : first;
        }

        first = Scrub(first);
        return first.Length == 0 ? "no reason given" : first.TrimEnd('.') + ".";
    }

    /// <summary>Removes bearer tokens, JWTs, SAS signatures and account keys from a message.</summary>
    public static string Scrub(string text)
    {
        text = Jwt().Replace(text, "[redacted]");
        text = Bearer().Replace(text, "Bearer [redacted]");
        text = KeyValueSecret().Replace(text, m => m.Groups[1].Value + "=[redacted]");
        text = JsonSecret().Replace(text, m => $"\"{m.Groups[1].Value}\":\"[redacted]\"");
        return text;
    }

    [GeneratedRegex(@"eyJ[A-Za-z0-9_\-]{5,}(\.[A-Za-z0-9_\-]*){0,2}")]
    private static partial Regex Jwt();

    [GeneratedRegex(@"Bearer\s+[A-Za-z0-9_\-\.=+/]+", RegexOptions.IgnoreCase)]
    private static partial Regex Bearer();

    [GeneratedRegex(@"\b(sig|AccountKey|SharedAccessKey|access_token|client_secret|password|secret)=[^;&\s""]+", RegexOptions.IgnoreCase)]
    private static partial Regex KeyValueSecret();

    [GeneratedRegex(@"""(access_token|refresh_token|client_secret)""\s*:\s*""[^""]*""", RegexOptions.IgnoreCase)]
    private static partial Regex JsonSecret();
}
