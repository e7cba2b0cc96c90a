using Azure.Core.Pipeline;
using Shellbox.ArmEmulator;
using Shellbox.Azure.Identity;
using Shellbox.Azure.Settings;
using Shellbox.Azure.Tests.Arm;

namespace Shellbox.Azure.Tests.Runtime;

/// <summary>
/// The provider settings and options of the tests whose VMs are real: the emulator's ARM, its VMs' sshd on this
/// machine (logged in to as root) on <c>sshPort</c>, the emulator's own certificate trusted and nothing else.
/// </summary>
internal static class RealInstanceSettings
{
    public static AzureProviderSettings For(ArmEmulatorServer emulator, int sshPort) => new()
    {
        SubscriptionId = emulator.SubscriptionId,
        ResourceGroup = emulator.ResourceGroup,
        Location = emulator.Location,
        SubnetId = $"/subscriptions/{emulator.SubscriptionId}/resourceGroups/{emulator.ResourceGroup}/providers/Microsoft.Network/virtualNetworks/shellbox-vnet/subnets/instances",
        ArmEndpoint = emulator.BaseUri.ToString().TrimEnd('/'),
        Credential = AzureCredentials.ManagedIdentity,
        AdminUsername = "root", // the VMs' sshd runs on this machine, where their admin user must exist
        InstanceSshPort = sshPort,
    };

    public static AzureProviderOptions Options(ArmEmulatorServer emulator)
    {
        var certificate = emulator.Certificate;
        return new AzureProviderOptions
        {
            Transport = new LoopbackOnlyTransport(new HttpClientTransport(new HttpClientHandler
            {
                ServerCertificateCustomValidationCallback = (_, presented, _, _) => presented is not null && presented.Thumbprint == certificate.Thumbprint,
            })),
            SshProbeInterval = TimeSpan.FromMilliseconds(50),
            InstanceBootTimeout = TimeSpan.FromSeconds(30),
            GoldenBuildTimeout = TimeSpan.FromMinutes(10),
        };
    }
}
