using Shellbox.Azure.Identity;
using Shellbox.Core.Errors;
using Shellbox.Core.Model;

namespace Shellbox.Azure.Tests.Arm;

/// <summary>The credential named in the settings is the one used, and its failure reads as one safe sentence.</summary>
public sealed class CredentialTests : IAsyncLifetime
{
    private AzureOnEmulator azure = null!;

    public async Task InitializeAsync() => azure = await AzureOnEmulator.StartAsync();

    public async Task DisposeAsync() => await azure.DisposeAsync();

    [Fact]
    public async Task A_managed_identity_that_is_not_assigned_fails_naming_the_credential_without_any_token()
    {
        var settings = azure.Settings with { ManagedIdentityClientId = "00000000-0000-0000-0000-00000000dead" };
        var infrastructure = azure.Infrastructure(settings);

        var error = await Assert.ThrowsAsync<ShellboxException>(() => infrastructure.CreateInstanceAsync("instance-a", new Dictionary<string, string>()));

        Assert.Equal("AzureAuthenticationFailed", error.ErrorId);
        Assert.StartsWith("ManagedIdentityCredential could not get a token", error.Message);
        Assert.DoesNotContain('\n', error.Message);
        Assert.DoesNotContain("eyJ", error.Message);
        Assert.DoesNotContain(azure.Emulator.ManagedIdentityHeader, error.Message);
        Assert.Null(azure.Emulator.State.FindVirtualMachine("instance-a"));
        Assert.Empty(LoopbackOnlyTransport.Refused);
    }

    [Fact]
    public async Task The_system_assigned_identity_from_the_automation_endpoint_is_accepted_by_ARM()
    {
        var infrastructure = azure.Infrastructure();
        Assert.Empty(await infrastructure.ListAsync(ResourceRoles.Instance));
        Assert.Contains(azure.Emulator.Requests.Snapshot(), r => r.Path.Contains("Microsoft.ResourceGraph", StringComparison.OrdinalIgnoreCase) && r.Status == 200);
    }

    [Fact]
    public async Task The_default_credential_chain_finds_the_automation_identity_without_probing_the_metadata_service()
    {
        // A probe of 169.254.169.254 would hang or fail here: nothing answers it on this machine.
        var infrastructure = azure.Infrastructure(azure.Settings with { Credential = AzureCredentials.Default });
        var started = DateTimeOffset.UtcNow;
        Assert.Empty(await infrastructure.ListAsync(ResourceRoles.Volume));
        Assert.True(DateTimeOffset.UtcNow - started < TimeSpan.FromSeconds(20));
        Assert.Empty(LoopbackOnlyTransport.Refused);
    }

    [Fact]
    public void An_unknown_credential_kind_is_a_user_error_naming_the_choices()
    {
        var error = Assert.Throws<ShellboxException>(() => AzureCredentials.Create(azure.Settings with { Credential = "Password" }));
        Assert.Equal(ShellboxErrorKind.User, error.Kind);
        Assert.Contains("ManagedIdentity", error.Message);
    }
}
