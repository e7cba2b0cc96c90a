using Azure.Core;
using Azure.Core.Pipeline;
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
    /// <param name="transport">Where the credential's own HTTP goes (token endpoints); null is the SDK's transport.</param>
    public static NamedCredential Create(AzureProviderSettings settings, HttpPipelineTransport? transport = null)
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
            if (transport is not null)
            {
                options.Transport = transport;
            }

            return new NamedCredential(new DefaultAzureCredential(options), nameof(DefaultAzureCredential));
        }

        if (kind.Equals(ManagedIdentity, StringComparison.OrdinalIgnoreCase))
        {
            var id = clientId is null ? ManagedIdentityId.SystemAssigned : ManagedIdentityId.FromUserAssignedClientId(clientId);
            var options = new ManagedIdentityCredentialOptions(id);
            if (transport is not null)
            {
                options.Transport = transport;
            }

            return new NamedCredential(new ManagedIdentityCredential(options), nameof(ManagedIdentityCredential));
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
