using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Shellbox.ArmEmulator.Arm;
using Shellbox.ArmEmulator.Compute;
using Shellbox.ArmEmulator.Graph;
using Shellbox.ArmEmulator.Hosting;
using Shellbox.ArmEmulator.Model;
using Shellbox.ArmEmulator.Network;
using Shellbox.ArmEmulator.Resources;
using Shellbox.ArmEmulator.Storage;

namespace Shellbox.ArmEmulator;

/// <summary>A loopback model of the Azure management plane: ARM Compute (VMs, disks, snapshots), network
/// interfaces, the Tags API, Resource Graph, and a managed-identity endpoint, served over https with a
/// certificate made at start. Nothing here ever contacts Azure.</summary>
public sealed class ArmEmulatorServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly LongRunningOperations _operations;

    private ArmEmulatorServer(WebApplication app, LongRunningOperations operations, Uri baseUri, Uri identityEndpoint, string identityHeader,
        X509Certificate2 certificate, string certificatePemPath, ArmEmulatorOptions options, RequestLog requests, FaultInjector faults,
        EmulatorLatency latencies, EmulatorState state)
    {
        _app = app;
        _operations = operations;
        BaseUri = baseUri;
        ManagedIdentityEndpoint = identityEndpoint;
        ManagedIdentityHeader = identityHeader;
        Certificate = certificate;
        CertificatePemPath = certificatePemPath;
        SubscriptionId = options.SubscriptionId;
        ResourceGroup = options.ResourceGroup;
        Location = options.Location;
        Requests = requests;
        Faults = faults;
        Latencies = latencies;
        State = state;
    }

    /// <summary>https://127.0.0.1:PORT/</summary>
    public Uri BaseUri { get; }

    /// <summary>The self-signed certificate in PEM (for SSL_CERT_FILE).</summary>
    public string CertificatePemPath { get; }

    public X509Certificate2 Certificate { get; }
    public string SubscriptionId { get; }
    public string ResourceGroup { get; }
    public string Location { get; }

    /// <summary>http://127.0.0.1:PORT2/msi/token (IDENTITY_ENDPOINT).</summary>
    public Uri ManagedIdentityEndpoint { get; }

    /// <summary>The secret value of IDENTITY_HEADER.</summary>
    public string ManagedIdentityHeader { get; }

    public RequestLog Requests { get; }
    public FaultInjector Faults { get; }
    public EmulatorLatency Latencies { get; }
    public EmulatorState State { get; }

    /// <summary>The ARM resource id prefix of the modelled resource group.</summary>
    public string ResourceGroupId => $"/subscriptions/{SubscriptionId}/resourceGroups/{ResourceGroup}";

    public static async Task<ArmEmulatorServer> StartAsync(ArmEmulatorOptions options, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!Guid.TryParse(options.SubscriptionId, out _)) throw new ArgumentException("SubscriptionId must be a GUID, as Azure's are.", nameof(options));
        Directory.CreateDirectory(options.DataDirectory);
        var clock = TimeProvider.System;
        var certificate = SelfSignedCertificate.Create();
        var pemPath = SelfSignedCertificate.WritePem(certificate, options.DataDirectory);
        var lag = options.ResourceGraphLag == TimeSpan.Zero && options.Latency == LatencyProfile.SeedScaled
            ? TimeSpan.FromSeconds(1.2)
            : options.ResourceGraphLag;

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(ArmEmulatorServer).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = Environments.Production,
        });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, options.Port, listen => listen.UseHttps(certificate));
            // The managed-identity endpoint is plain http on its own port, as App Service and Automation serve it.
            kestrel.Listen(IPAddress.Loopback, 0);
        });
        var app = builder.Build();
        // The routes need the bound ports (for absolute URLs), known only once Kestrel listens: requests wait for them.
        var dispatching = new TaskCompletionSource<Func<Microsoft.AspNetCore.Http.HttpContext, Task>>(TaskCreationOptions.RunContinuationsAsynchronously);
        app.Run(async http => await (await dispatching.Task.ConfigureAwait(false))(http).ConfigureAwait(false));
        await app.StartAsync(ct).ConfigureAwait(false);

        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
            .Select(a => new Uri(a)).ToList();
        var https = addresses.Single(a => a.Scheme == Uri.UriSchemeHttps);
        var http = addresses.Single(a => a.Scheme == Uri.UriSchemeHttp);
        var baseUri = new Uri($"https://127.0.0.1:{https.Port}/");

        var requests = new RequestLog();
        var faults = new FaultInjector();
        var latencies = new EmulatorLatency(options.Latency);
        var history = new ResourceGraphHistory(clock, lag);
        var state = new EmulatorState(new ResourceIds(options.SubscriptionId, options.ResourceGroup), history);
        var operations = new LongRunningOperations(baseUri, options.SubscriptionId, options.Location, clock);
        var identity = new ManagedIdentityEndpoint(clock);
        var context = new EmulatorContext(options, state, operations, latencies, options.VmHost ?? NullVmHost.Instance,
            new FolderStore(options.DataDirectory), history, clock);
        var routes = new VirtualMachineRoutes(context).Routes()
            .Concat(new DiskRoutes(context, baseUri).Routes())
            .Concat(new SnapshotRoutes(context, baseUri).Routes())
            .Concat(new NetworkInterfaceRoutes(context).Routes())
            .Concat(new TagRoutes(context).Routes())
            .Concat(new ResourceGraphRoutes(context).Routes())
            .Concat(new OperationRoutes(context).Routes())
            .Concat(new ProviderRoutes(context).Routes())
            .ToList();
        var dispatcher = new ArmDispatcher(routes, identity, faults, latencies, requests, clock);
        var identityPort = http.Port;
        dispatching.SetResult(request => request.Connection.LocalPort == identityPort
            ? dispatcher.HandleIdentityAsync(request)
            : dispatcher.HandleArmAsync(request));
        return new ArmEmulatorServer(app, operations, baseUri, new Uri($"http://127.0.0.1:{identityPort}{Hosting.ManagedIdentityEndpoint.Path}"),
            identity.Secret, certificate, pemPath, options, requests, faults, latencies, state);
    }

    public async ValueTask DisposeAsync()
    {
        await _operations.StopAsync().ConfigureAwait(false);
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        Certificate.Dispose();
    }
}
