using System.Net;
using System.Net.Sockets;
using Azure.Core.Pipeline;
using Shellbox.ArmEmulator;
using Shellbox.Azure.Arm;
using Shellbox.Azure.Identity;
using Shellbox.Azure.Settings;

namespace Shellbox.Azure.Tests.Arm;

/// <summary>
/// The Azure provider's infrastructure against a fresh loopback ARM emulator (its own resource group,
/// disks as folders in a temp folder): the real Azure SDK, the real managed-identity credential, https
/// with the emulator's self-signed certificate trusted in-process only.
/// </summary>
internal sealed class AzureOnEmulator : IAsyncDisposable
{
    private readonly string folder;

    private AzureOnEmulator(ArmEmulatorServer emulator, LoopbackVmHost host, string folder)
    {
        Emulator = emulator;
        Host = host;
        this.folder = folder;
        Agent = new GoldenFilesAgent(host);
        ControlPublicKey = InstanceHostKey.Generate("control").PublicKeyOpenSsh;
        Settings = new AzureProviderSettings
        {
            SubscriptionId = emulator.SubscriptionId,
            ResourceGroup = emulator.ResourceGroup,
            Location = emulator.Location,
            SubnetId = $"/subscriptions/{emulator.SubscriptionId}/resourceGroups/{emulator.ResourceGroup}/providers/Microsoft.Network/virtualNetworks/shellbox-vnet/subnets/instances",
            ArmEndpoint = emulator.BaseUri.ToString().TrimEnd('/'),
            Credential = AzureCredentials.ManagedIdentity,
            InstanceSshPort = host.SshPort,
        };
        var certificate = emulator.Certificate;
        Options = new AzureProviderOptions
        {
            Transport = new LoopbackOnlyTransport(new HttpClientTransport(new HttpClientHandler
            {
                ServerCertificateCustomValidationCallback = (_, presented, _, _) => presented is not null && presented.Thumbprint == certificate.Thumbprint,
            })),
            TransientRetryDelay = TimeSpan.FromMilliseconds(50),
            ConflictRetryDelay = TimeSpan.FromMilliseconds(50),
            SshProbeInterval = TimeSpan.FromMilliseconds(50),
            InstanceBootTimeout = TimeSpan.FromSeconds(20),
        };
    }

    public ArmEmulatorServer Emulator { get; }

    public LoopbackVmHost Host { get; }

    public GoldenFilesAgent Agent { get; }

    public string ControlPublicKey { get; }

    public AzureProviderSettings Settings { get; }

    public AzureProviderOptions Options { get; }

    public static async Task<AzureOnEmulator> StartAsync(TimeSpan resourceGraphLag = default, int? maxVirtualMachines = null, LatencyProfile latency = LatencyProfile.None)
    {
        await IdentityEnvironment.EnsureAsync();
        var folder = Directory.CreateTempSubdirectory("shellbox-arm-").FullName;
        var host = new LoopbackVmHost(FreePort());
        var emulator = await ArmEmulatorServer.StartAsync(new ArmEmulatorOptions
        {
            DataDirectory = folder,
            VmHost = host,
            ResourceGraphLag = resourceGraphLag,
            MaxVirtualMachines = maxVirtualMachines,
            Latency = latency,
        });
        return new AzureOnEmulator(emulator, host, folder);
    }

    public AzureInfrastructure Infrastructure(AzureProviderSettings? settings = null, AzureProviderOptions? options = null, TimeProvider? time = null)
    {
        settings ??= Settings;
        options ??= Options;
        return new AzureInfrastructure(settings, AzureCredentials.Create(settings, options.Transport), Agent, ControlPublicKey, options, time);
    }

    public async ValueTask DisposeAsync()
    {
        await Emulator.DisposeAsync();
        await Host.DisposeAsync();
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
            // a file still held is reported by the test that holds it
        }
    }

    /// <summary>A port free on loopback now; every VM of this emulator listens on it at its own address.</summary>
    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
