using System.Net;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Identity;
using Azure.ResourceManager;
using Azure.ResourceManager.Compute;

namespace Shellbox.ArmEmulator.Tests;

public sealed class IdentityTests
{
    [Fact]
    public async Task The_real_managed_identity_credential_gets_a_token_that_arm_routes_accept()
    {
        await using var session = await EmulatorSession.StartAsync();
        var saved = (Endpoint: Environment.GetEnvironmentVariable("IDENTITY_ENDPOINT"), Header: Environment.GetEnvironmentVariable("IDENTITY_HEADER"));
        Environment.SetEnvironmentVariable("IDENTITY_ENDPOINT", session.Server.ManagedIdentityEndpoint.ToString());
        Environment.SetEnvironmentVariable("IDENTITY_HEADER", session.Server.ManagedIdentityHeader);
        try
        {
            // App Service source (IDENTITY_ENDPOINT + IDENTITY_HEADER); a transport that refuses anything off loopback,
            // so a misconfiguration can never reach IMDS or Entra ID.
            var credential = new ManagedIdentityCredential(new ManagedIdentityCredentialOptions(ManagedIdentityId.SystemAssigned)
            {
                Transport = new HttpClientTransport(new LoopbackOnlyHandler()),
                Retry = { MaxRetries = 0 },
            });
            var token = await credential.GetTokenAsync(new TokenRequestContext(["https://management.azure.com/.default"]), CancellationToken.None);
            var client = new ArmClient(credential, session.Server.SubscriptionId, EmulatorSession.ClientOptions(session.Server));
            var disks = new List<string>();
            await foreach (var disk in client.GetResourceGroupResource(session.ResourceGroup.Id).GetManagedDisks().GetAllAsync()) disks.Add(disk.Data.Name);

            Assert.False(string.IsNullOrEmpty(token.Token));
            Assert.True(token.ExpiresOn > DateTimeOffset.UtcNow.AddHours(1));
            Assert.Empty(disks);
            var identityCalls = session.Server.Requests.Snapshot().Where(r => r.Path == "/msi/token").ToList();
            Assert.NotEmpty(identityCalls);
            Assert.All(identityCalls, call => Assert.Equal(("2019-08-01", 200), (call.ApiVersion, call.Status)));
        }
        finally
        {
            Environment.SetEnvironmentVariable("IDENTITY_ENDPOINT", saved.Endpoint);
            Environment.SetEnvironmentVariable("IDENTITY_HEADER", saved.Header);
        }
    }

    [Fact]
    public async Task The_identity_endpoint_refuses_a_missing_or_wrong_secret()
    {
        await using var session = await EmulatorSession.StartAsync();
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false });
        var url = $"{session.Server.ManagedIdentityEndpoint}?resource=https://management.azure.com/&api-version=2019-08-01";

        var missing = await http.GetAsync(url);
        using var wrong = new HttpRequestMessage(HttpMethod.Get, url) { Headers = { { "X-IDENTITY-HEADER", "not-the-secret" } } };
        var refused = await http.SendAsync(wrong);

        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal("http", session.Server.ManagedIdentityEndpoint.Scheme);
        Assert.True(IPAddress.IsLoopback(IPAddress.Parse(session.Server.ManagedIdentityEndpoint.Host)));
    }

    [Fact]
    public async Task A_user_assigned_identity_is_refused_because_only_the_system_assigned_one_exists()
    {
        await using var session = await EmulatorSession.StartAsync();
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false });
        using var request = new HttpRequestMessage(HttpMethod.Get,
            $"{session.Server.ManagedIdentityEndpoint}?resource=https://management.azure.com/&api-version=2019-08-01&client_id=00000000-0000-0000-0000-00000000dead")
        {
            Headers = { { "X-IDENTITY-HEADER", session.Server.ManagedIdentityHeader } },
        };

        var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("No User Assigned or Delegated Managed Identity found", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Arm_routes_refuse_requests_without_a_token_the_endpoint_issued()
    {
        await using var session = await EmulatorSession.StartAsync();
        var options = EmulatorSession.ClientOptions(session.Server);
        options.Retry.MaxRetries = 0;
        var forged = HttpPipelineBuilder.Build(options, new BearerTokenAuthenticationPolicy(new ForgedCredential(), "https://management.azure.com/.default"));
        using var message = forged.CreateMessage();
        message.Request.Method = RequestMethod.Get;
        message.Request.Uri.Reset(new Uri(session.Server.BaseUri, $"subscriptions/{session.Server.SubscriptionId}?api-version=2022-12-01"));

        await forged.SendAsync(message, CancellationToken.None);

        Assert.Equal(401, message.Response.Status);
        Assert.Contains("InvalidAuthenticationToken", message.Response.Content.ToString());
    }

    [Fact]
    public async Task A_token_from_one_emulators_endpoint_is_accepted_by_another_in_the_same_process()
    {
        await using var issuer = await EmulatorSession.StartAsync();
        await using var other = await EmulatorSession.StartAsync();
        var client = new ArmClient(issuer.Credential, other.Server.SubscriptionId, EmulatorSession.ClientOptions(other.Server));

        var subscription = (await client.GetDefaultSubscriptionAsync()).Data;

        Assert.Equal(other.Server.SubscriptionId, subscription.SubscriptionId);
        Assert.DoesNotContain(other.Server.Requests.Snapshot(), r => r.Path == "/msi/token");
    }

    private sealed class ForgedCredential : TokenCredential
    {
        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            new("forged", DateTimeOffset.UtcNow.AddHours(1));

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            ValueTask.FromResult(GetToken(requestContext, cancellationToken));
    }

    /// <summary>Fails any request whose host is not a loopback address.</summary>
    private sealed class LoopbackOnlyHandler() : DelegatingHandler(new SocketsHttpHandler { UseProxy = false })
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            IPAddress.TryParse(request.RequestUri!.Host, out var address) && IPAddress.IsLoopback(address)
                ? base.SendAsync(request, cancellationToken)
                : throw new InvalidOperationException($"refused a request off loopback: {request.RequestUri.Host}");
    }
}
