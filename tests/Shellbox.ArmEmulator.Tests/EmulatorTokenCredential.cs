using System.Net.Http.Json;
using System.Text.Json.Serialization;
using Azure.Core;

namespace Shellbox.ArmEmulator.Tests;

/// <summary>A tiny credential that asks the emulator's managed-identity endpoint for a token, as
/// ManagedIdentityCredential does, without reading IDENTITY_ENDPOINT from the process environment.</summary>
internal sealed class EmulatorTokenCredential(Uri endpoint, string identityHeader) : TokenCredential
{
    private static readonly HttpClient Http = new(new SocketsHttpHandler { UseProxy = false });

    public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
        GetTokenAsync(requestContext, cancellationToken).AsTask().GetAwaiter().GetResult();

    public override async ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken)
    {
        var resource = requestContext.Scopes[0].Replace("/.default", "/", StringComparison.Ordinal);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{endpoint}?resource={Uri.EscapeDataString(resource)}&api-version=2019-08-01");
        request.Headers.Add("X-IDENTITY-HEADER", identityHeader);
        using var response = await Http.SendAsync(request, cancellationToken);
        response.EnsureSuccessStatusCode();
        var token = await response.Content.ReadFromJsonAsync<TokenResponse>(cancellationToken) ?? throw new InvalidOperationException("no token");
        return new AccessToken(token.AccessToken, DateTimeOffset.FromUnixTimeSeconds(long.Parse(token.ExpiresOn)));
    }

    private sealed record TokenResponse(
        [property: JsonPropertyName("access_token")] string AccessToken,
        [property: JsonPropertyName("expires_on")] string ExpiresOn);
}
