using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.ResourceManager;
using Azure.ResourceManager.Compute;
using Azure.ResourceManager.Resources;

namespace Shellbox.ArmEmulator.Tests;

/// <summary>One emulator on loopback plus a real ArmClient that trusts exactly its certificate and gets its
/// tokens from the emulator's managed-identity endpoint. Each test starts its own.</summary>
internal sealed class EmulatorSession : IAsyncDisposable
{
    private readonly string _dataDirectory;

    private EmulatorSession(ArmEmulatorServer server, string dataDirectory)
    {
        Server = server;
        _dataDirectory = dataDirectory;
        Credential = new EmulatorTokenCredential(server.ManagedIdentityEndpoint, server.ManagedIdentityHeader);
        var options = ClientOptions(server);
        Client = new ArmClient(Credential, server.SubscriptionId, options);
        // Resource Graph and attachDetachDataDisks (newer than Compute 1.2.0) go through the SDK's own pipeline.
        Pipeline = HttpPipelineBuilder.Build(options, new BearerTokenAuthenticationPolicy(Credential, "https://management.azure.com/.default"));
    }

    public ArmEmulatorServer Server { get; }
    public TokenCredential Credential { get; }
    public ArmClient Client { get; }
    public HttpPipeline Pipeline { get; }
    public string DataDirectory => _dataDirectory;

    public ResourceGroupResource ResourceGroup =>
        Client.GetResourceGroupResource(ResourceGroupResource.CreateResourceIdentifier(Server.SubscriptionId, Server.ResourceGroup));

    public static async Task<EmulatorSession> StartAsync(Func<string, ArmEmulatorOptions>? configure = null)
    {
        var data = Path.Combine(Path.GetTempPath(), "shellbox-armemu-tests", Guid.NewGuid().ToString("N"));
        var options = configure?.Invoke(data) ?? new ArmEmulatorOptions { DataDirectory = data };
        return new EmulatorSession(await ArmEmulatorServer.StartAsync(options), data);
    }

    /// <summary>Trusts the emulator's certificate and nothing else; fast retries so tests stay quick.</summary>
    public static ArmClientOptions ClientOptions(ArmEmulatorServer server)
    {
        var handler = new HttpClientHandler
        {
            UseProxy = false,
            ServerCertificateCustomValidationCallback = (_, certificate, _, errors) =>
                certificate is not null && certificate.RawData.AsSpan().SequenceEqual(server.Certificate.RawData)
                && (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) == SslPolicyErrors.None,
        };
        var options = new ArmClientOptions
        {
            Environment = new ArmEnvironment(server.BaseUri, "https://management.azure.com/"),
            Transport = new HttpClientTransport(handler),
        };
        options.Retry.Delay = TimeSpan.FromMilliseconds(20);
        options.Retry.MaxRetries = 3;
        return options;
    }

    /// <summary>Sends one request through the SDK pipeline (auth, retries) and returns status and JSON body.</summary>
    public async Task<(int Status, JsonNode? Body, Response Raw)> SendAsync(RequestMethod method, string pathAndQuery, JsonNode? body = null)
    {
        using var message = Pipeline.CreateMessage();
        message.Request.Method = method;
        message.Request.Uri.Reset(new Uri(Server.BaseUri, pathAndQuery.TrimStart('/')));
        if (body is not null)
        {
            message.Request.Headers.Add("Content-Type", "application/json");
            message.Request.Content = RequestContent.Create(Encoding.UTF8.GetBytes(body.ToJsonString()));
        }
        await Pipeline.SendAsync(message, CancellationToken.None);
        var response = message.Response;
        var text = response.Content.ToString();
        return (response.Status, string.IsNullOrWhiteSpace(text) ? null : JsonNode.Parse(text), response);
    }

    /// <summary>POST /providers/Microsoft.ResourceGraph/resources as the provider sends it.</summary>
    public Task<(int Status, JsonNode? Body, Response Raw)> QueryGraphAsync(string query, int? top = null, string? skipToken = null)
    {
        var options = new JsonObject { ["resultFormat"] = "objectArray" };
        if (top is not null) options["$top"] = top;
        if (skipToken is not null) options["$skipToken"] = skipToken;
        return SendAsync(RequestMethod.Post, "providers/Microsoft.ResourceGraph/resources?api-version=2021-03-01",
            new JsonObject { ["subscriptions"] = new JsonArray(Server.SubscriptionId), ["query"] = query, ["options"] = options });
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // Nothing was written.
        }
    }
}
