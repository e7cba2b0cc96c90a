using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Shellbox.ArmEmulator.Hosting;

/// <summary>The App Service / Automation managed-identity endpoint (IDENTITY_ENDPOINT + IDENTITY_HEADER):
/// GET /msi/token?resource=...&amp;api-version=2019-08-01 with header X-IDENTITY-HEADER, answering
/// {access_token, expires_on (unix seconds), resource, token_type} as MSAL's AppServiceManagedIdentitySource
/// (used by Azure.Identity 1.17's ManagedIdentityCredential) reads it. ARM routes accept only tokens an emulator
/// endpoint issued. The register is process-wide: IDENTITY_ENDPOINT is a process-wide setting and MSAL caches
/// managed-identity tokens process-wide, so a credential pointed at one emulator serves every emulator in the process.</summary>
internal sealed class ManagedIdentityEndpoint(TimeProvider clock)
{
    public const string Path = "/msi/token";
    private static readonly TimeSpan Lifetime = TimeSpan.FromHours(24);
    private static readonly ConcurrentDictionary<string, DateTimeOffset> IssuedTokens = new(StringComparer.Ordinal);

    /// <summary>The secret a caller must present in X-IDENTITY-HEADER.</summary>
    public string Secret { get; } = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();

    public bool IsValid(string token) => IssuedTokens.TryGetValue(token, out var expires) && expires > clock.GetUtcNow();

    public (int Status, JsonObject Body) Handle(HttpRequest request)
    {
        if (!string.Equals(request.Path.Value, Path, StringComparison.Ordinal) || !HttpMethods.IsGet(request.Method))
            return (404, Error("not_found", "Only GET /msi/token is served here."));
        var header = request.Headers["X-IDENTITY-HEADER"].ToString();
        if (header.Length == 0) return (400, Error("invalid_request", "The X-IDENTITY-HEADER header is required."));
        if (!CryptographicOperations.FixedTimeEquals(System.Text.Encoding.UTF8.GetBytes(header), System.Text.Encoding.UTF8.GetBytes(Secret)))
            return (401, Error("unauthorized_client", "The X-IDENTITY-HEADER value is wrong."));
        if (request.Query["api-version"].ToString() != "2019-08-01")
            return (400, Error("invalid_request", "api-version must be 2019-08-01."));
        var resource = request.Query["resource"].ToString();
        if (resource.Length == 0) return (400, Error("invalid_request", "The resource parameter is required."));
        // Only the system-assigned identity exists here; App Service answers a user-assigned id it does not know so.
        if (new[] { "client_id", "mi_res_id", "object_id", "principal_id" }.Any(p => request.Query.ContainsKey(p)))
            return (400, Error("invalid_request", "No User Assigned or Delegated Managed Identity found for specified ClientId/ResourceId/PrincipalId."));

        var token = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var expires = clock.GetUtcNow() + Lifetime;
        IssuedTokens[token] = expires;
        return (200, new JsonObject
        {
            ["access_token"] = token,
            ["expires_on"] = expires.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
            ["resource"] = resource,
            ["token_type"] = "Bearer",
            ["client_id"] = "00000000-0000-0000-0000-0000000000e1",
        });
    }

    /// <summary>App Service's error shape: {statusCode, message, correlationId}, plus the OAuth error code.</summary>
    private static JsonObject Error(string code, string message) => new()
    {
        ["statusCode"] = code == "unauthorized_client" ? 401 : code == "not_found" ? 404 : 400,
        ["message"] = message,
        ["correlationId"] = Guid.NewGuid().ToString(),
        ["error"] = code,
        ["error_description"] = message,
    };
}
