using Shellbox.Azure.Arm;
using Shellbox.Azure.Identity;
using Shellbox.Azure.Runtime;
using Shellbox.Azure.Settings;
using Shellbox.Core.Errors;

namespace Shellbox.Azure.Tests.Arm;

/// <summary>Settings that cannot work are refused at construction with one sentence, before any call to Azure.</summary>
public sealed class ArmSettingsTests
{
    private static readonly AzureProviderSettings Valid = new()
    {
        SubscriptionId = "00000000-0000-0000-0000-000000000001",
        ResourceGroup = "shellbox-rg",
        Location = "westeurope",
        SubnetId = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/v/subnets/instances",
        Credential = AzureCredentials.AzureCli,
    };

    [Theory]
    [InlineData("not-a-subnet", "https://management.azure.com", "AzureSubnetInvalid")]
    [InlineData("/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/v", "https://management.azure.com", "AzureSubnetInvalid")]
    [InlineData(null, "http://management.azure.com", "AzureArmEndpointInvalid")]
    [InlineData(null, "management.azure.com", "AzureArmEndpointInvalid")]
    public void A_setting_that_cannot_work_is_a_user_error_naming_it(string? subnet, string endpoint, string errorId)
    {
        var settings = Valid with { SubnetId = subnet ?? Valid.SubnetId, ArmEndpoint = endpoint };

        var error = Assert.Throws<ShellboxException>(() => new AzureInfrastructure(settings, AzureCredentials.Create(settings), new NoAgent(), "ssh-ed25519 AAAA"));

        Assert.Equal(ShellboxErrorKind.User, error.Kind);
        Assert.Equal(errorId, error.ErrorId);
        Assert.Contains(subnet ?? endpoint, error.Message);
    }

    [Fact]
    public void An_image_that_is_not_a_URN_is_a_user_error()
    {
        var error = Assert.Throws<ShellboxException>(() => VirtualMachineDefinition.Image("Debian:debian-12"));
        Assert.Equal(ShellboxErrorKind.User, error.Kind);
        Assert.Equal("Debian", VirtualMachineDefinition.Image("Debian:debian-12:12-gen2:latest").Publisher);
    }

    private sealed class NoAgent : IInstanceAgent
    {
        public Task<AgentResult> RunAsync(InstanceAddress instance, IReadOnlyList<string> arguments, TimeSpan timeout, CancellationToken cancellationToken = default) =>
            throw new InvalidOperationException("no agent in these tests");
    }
}
