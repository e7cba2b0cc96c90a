using Azure.Core;
using Azure.Identity;
using Shellbox.Azure.Settings;
using Shellbox.Core.Errors;

namespace Shellbox.Azure.Identity;

/// <summary>The credential named by <see cref="AzureProviderSettings.Credential"/>, and its name for error messages.</summary>
public static class AzureCredentials
{
    public const string Default = "Default";
    public const string ManagedIdentity = "ManagedIdentity";
    public const string AzureCli = "AzureCli";

    /// <summary>
    /// Default: DefaultAzureCredential without the interactive and IDE sources (a runbook or a bastion has
    /// nobody to click, and an IDE's cached login is not the operator's choice). ManagedIdentity: Azure Automation and App Service set IDENTITY_ENDPOINT and
    /// IDENTITY_HEADER, which the credential uses instead of the instance metadata service.
    /// </summary>
    public static NamedCredential Create(AzureProviderSettings settings)
    {
        var clientId = string.IsNullOrWhiteSpace(settings.ManagedIdentityClientId) ? null : settings.ManagedIdentityClientId;
        var kind = settings.Credential?.Trim() ?? Default;
        if (kind.Equals(Default, StringComparison.OrdinalIgnoreCase))
        {
            var options = new DefaultAzureCredentialOptions
            {
                ExcludeInteractiveBrowserCredential = true,
                ExcludeVisualStudioCredential = true,
                ExcludeVisualStudioCodeCredential = true,
                ManagedIdentityClientId = clientId,
            };
            return new NamedCredential(new DefaultAzureCredential(options), nameof(DefaultAzureCredential));
        }

        if (kind.Equals(ManagedIdentity, StringComparison.OrdinalIgnoreCase))
        {
            var id = clientId is null ? ManagedIdentityId.SystemAssigned : ManagedIdentityId.FromUserAssignedClientId(clientId);
            return new NamedCredential(new ManagedIdentityCredential(id), nameof(ManagedIdentityCredential));
        }

        if (kind.Equals(AzureCli, StringComparison.OrdinalIgnoreCase))
        {
            return new NamedCredential(new AzureCliCredential(), nameof(AzureCliCredential));
        }

        throw ShellboxException.User(
            "AzureCredentialUnknown",
            $"The Azure credential '{settings.Credential}' is not known; use {Default}, {ManagedIdentity} or {AzureCli}.");
    }
}

/// <summary>A token credential and the name an error message gives it ("ManagedIdentityCredential").</summary>
public sealed record NamedCredential(TokenCredential Credential, string Name);
