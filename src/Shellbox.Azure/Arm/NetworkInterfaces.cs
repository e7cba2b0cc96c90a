using System.Text.Json;
using Azure.Core;
using Shellbox.Core.Errors;

namespace Shellbox.Azure.Arm;

/// <summary>
/// Reads a NIC's private address: GET Microsoft.Network/networkInterfaces/{name}. The Network SDK is not
/// available to this build, so the call goes through the ARM pipeline with the REST shape of 2023-09-01.
/// </summary>
internal sealed class NetworkInterfaces(ArmRest rest)
{
    public const string ApiVersion = "2023-09-01";

    public async Task<string> PrivateAddressAsync(ResourceIdentifier nicId, CancellationToken cancellationToken)
    {
        using var nic = await rest.SendAsync(RequestMethod.Get, nicId.ToString(), ApiVersion, body: null, cancellationToken).ConfigureAwait(false);
        string? first = null;
        if (nic.RootElement.TryGetProperty("properties", out var properties) && properties.TryGetProperty("ipConfigurations", out var configurations))
        {
            foreach (var configuration in configurations.EnumerateArray())
            {
                if (!configuration.TryGetProperty("properties", out var ip) || !ip.TryGetProperty("privateIPAddress", out var address) || address.GetString() is not { Length: > 0 } text)
                {
                    continue;
                }

                if (ip.TryGetProperty("primary", out var primary) && primary.ValueKind == JsonValueKind.True)
                {
                    return text;
                }

                first ??= text;
            }
        }

        return first ?? throw ShellboxException.Service("AzureNicWithoutAddress", $"The network interface '{nicId.Name}' has no private IP address yet.");
    }
}
