using Azure;
using Azure.Core;
using Azure.ResourceManager;
using Azure.ResourceManager.Compute;
using Azure.ResourceManager.Resources;
using Shellbox.Azure.Identity;
using Shellbox.Azure.Settings;
using Shellbox.Core.Errors;

namespace Shellbox.Azure.Arm;

/// <summary>
/// One ArmClient for the provider's resource group, and the two ways every call is made: a read that
/// maps 404 to null, and a write that is retried on a transient 409. Both turn SDK failures into one
/// ShellboxException sentence.
/// </summary>
internal sealed class ArmContext
{
    /// <summary>The public cloud's ARM audience: also what the loopback emulator mints tokens for.</summary>
    private const string ArmAudience = "https://management.azure.com/";

    private readonly ConflictRetry conflicts;

    public ArmContext(AzureProviderSettings settings, NamedCredential credential, AzureProviderOptions options, TimeProvider time)
    {
        Settings = settings;
        CredentialName = credential.Name;
        Time = time;
        var armOptions = new ArmClientOptions
        {
            Environment = EnvironmentFor(Endpoint(settings.ArmEndpoint)),
        };
        armOptions.Retry.MaxRetries = options.TransientRetries;
        armOptions.Retry.Delay = options.TransientRetryDelay;
        if (options.Transport is not null)
        {
            armOptions.Transport = options.Transport;
        }

        RequireSubnet(settings.SubnetId);
        Client = new ArmClient(credential.Credential, settings.SubscriptionId, armOptions);
        Rest = new ArmRest(new ArmPipeline(Client, settings.SubscriptionId));
        ResourceGroup = Client.GetResourceGroupResource(ResourceGroupResource.CreateResourceIdentifier(settings.SubscriptionId, settings.ResourceGroup));
        conflicts = new ConflictRetry(options, time);
    }

    public AzureProviderSettings Settings { get; }

    private static Uri Endpoint(string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttps
            ? uri
            : throw ShellboxException.User("AzureArmEndpointInvalid", $"The ARM endpoint '{text}' is not an https URL such as https://management.azure.com.");

    private static void RequireSubnet(string subnetId)
    {
        var valid = ResourceIdentifier.TryParse(subnetId, out var id)
            && id is not null
            && string.Equals(id.ResourceType.ToString(), "Microsoft.Network/virtualNetworks/subnets", StringComparison.OrdinalIgnoreCase);
        if (!valid)
        {
            throw ShellboxException.User("AzureSubnetInvalid", $"The subnet '{subnetId}' is not a subnet's resource id (/subscriptions/S/resourceGroups/G/providers/Microsoft.Network/virtualNetworks/V/subnets/N).");
        }
    }

    /// <summary>A sovereign cloud's endpoint keeps its own audience; any other endpoint gets the public cloud's.</summary>
    private static ArmEnvironment EnvironmentFor(Uri endpoint)
    {
        foreach (var known in new[] { ArmEnvironment.AzureChina, ArmEnvironment.AzureGovernment, ArmEnvironment.AzureGermany })
        {
            if (Uri.Compare(known.Endpoint, endpoint, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0)
            {
                return known;
            }
        }

        return new ArmEnvironment(endpoint, ArmAudience);
    }

    public string CredentialName { get; }

    public TimeProvider Time { get; }

    public ArmClient Client { get; }

    public ArmRest Rest { get; }

    public ResourceGroupResource ResourceGroup { get; }

    public ResourceIdentifier VmId(string name) => VirtualMachineResource.CreateResourceIdentifier(Settings.SubscriptionId, Settings.ResourceGroup, name);

    public ResourceIdentifier DiskId(string name) => ManagedDiskResource.CreateResourceIdentifier(Settings.SubscriptionId, Settings.ResourceGroup, name);

    public ResourceIdentifier SnapshotId(string name) => SnapshotResource.CreateResourceIdentifier(Settings.SubscriptionId, Settings.ResourceGroup, name);

    /// <summary>A read; what does not exist is null.</summary>
    public Task<T?> FindAsync<T>(string what, Func<CancellationToken, Task<Response<T>>> read, CancellationToken cancellationToken)
        where T : class =>
        ArmErrors.GuardAsync<T?>(CredentialName, what, async () =>
        {
            try
            {
                return (await read(cancellationToken).ConfigureAwait(false)).Value;
            }
            catch (RequestFailedException e) when (e.Status == 404)
            {
                return null;
            }
        });

    public Task<VirtualMachineResource?> FindVmAsync(string name, CancellationToken cancellationToken) =>
        FindAsync($"read VM '{name}'", ct => Client.GetVirtualMachineResource(VmId(name)).GetAsync(cancellationToken: ct), cancellationToken);

    public Task<ManagedDiskResource?> FindDiskAsync(string name, CancellationToken cancellationToken) =>
        FindAsync($"read disk '{name}'", ct => Client.GetManagedDiskResource(DiskId(name)).GetAsync(ct), cancellationToken);

    public Task<SnapshotResource?> FindSnapshotAsync(string name, CancellationToken cancellationToken) =>
        FindAsync($"read snapshot '{name}'", ct => Client.GetSnapshotResource(SnapshotId(name)).GetAsync(ct), cancellationToken);

    /// <summary>A write: retried while Azure answers 409 for an operation in flight; 429/5xx the SDK retries itself.</summary>
    public Task<T> WriteAsync<T>(string what, Func<CancellationToken, Task<T>> write, CancellationToken cancellationToken) =>
        ArmErrors.GuardAsync(CredentialName, what, () => conflicts.RunAsync(write, cancellationToken));

    public Task WriteAsync(string what, Func<CancellationToken, Task> write, CancellationToken cancellationToken) =>
        ArmErrors.GuardAsync(CredentialName, what, () => conflicts.RunAsync(write, cancellationToken));

    /// <summary>A delete: what is already gone counts as deleted.</summary>
    public Task DeleteAsync(string what, Func<CancellationToken, Task> delete, CancellationToken cancellationToken) =>
        WriteAsync(what, async ct =>
        {
            try
            {
                await delete(ct).ConfigureAwait(false);
            }
            catch (RequestFailedException e) when (e.Status == 404)
            {
                // Already gone: a delete is done either way.
                Core.Observability.ShellboxLog.Dropped("Shellbox.Azure.Arm", $"{what}: not found, nothing to delete", e, routine: true);
            }
        }, cancellationToken);
}
