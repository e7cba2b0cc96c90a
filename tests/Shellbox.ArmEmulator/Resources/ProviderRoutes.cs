using System.Text.Json.Nodes;
using Shellbox.ArmEmulator.Arm;

namespace Shellbox.ArmEmulator.Resources;

/// <summary>Subscription, resource group and resource provider reads (resources spec: Microsoft.Resources
/// stable/2022-09-01: Providers_Get, Providers_List; subscriptions spec: Subscriptions_List/Get). Azure.ResourceManager
/// reads GET /subscriptions/{id}/providers/Microsoft.Resources to decide whether the Tags API exists
/// (ArmClient.CanUseTagResource, used by AddTag/SetTags/RemoveTag) and a provider's apiVersions for generic resources.</summary>
internal sealed class ProviderRoutes(EmulatorContext context)
{
    private static readonly (string Namespace, (string Type, string[] ApiVersions)[] Types)[] Providers =
    [
        ("Microsoft.Compute",
        [
            ("virtualMachines", ["2024-03-01", "2023-09-01", "2023-07-01", "2023-03-01", "2022-11-01"]),
            ("disks", ["2023-10-02", "2023-04-02", "2023-01-02", "2022-07-02"]),
            ("snapshots", ["2023-10-02", "2023-04-02", "2023-01-02", "2022-07-02"]),
            ("locations", ["2024-03-01", "2023-09-01", "2023-07-01"]),
            ("locations/operations", ["2024-03-01", "2023-09-01", "2023-07-01"]),
        ]),
        ("Microsoft.Network",
        [
            ("networkInterfaces", ["2023-09-01", "2023-05-01", "2022-07-01"]),
            ("locations", ["2023-09-01", "2023-05-01"]),
        ]),
        ("Microsoft.Resources",
        [
            ("tags", ["2022-09-01", "2021-04-01", "2019-10-01"]),
            ("subscriptions", ["2022-12-01", "2021-01-01"]),
            ("resourceGroups", ["2022-09-01", "2021-04-01"]),
            ("providers", ["2022-09-01", "2021-04-01"]),
        ]),
        ("Microsoft.ResourceGraph",
        [
            ("resources", ["2022-10-01", "2021-03-01"]),
        ]),
    ];

    public IEnumerable<ArmRoute> Routes()
    {
        yield return ArmRoute.Create("GET", "/subscriptions", EmulatorLatency.Get, _ => ArmResponse.Ok(new JsonObject { ["value"] = new JsonArray(Subscription()) }));
        yield return ArmRoute.Create("GET", "/subscriptions/(?<sub>[^/]+)", EmulatorLatency.Get, request =>
        {
            context.RequireScope(request);
            return ArmResponse.Ok(Subscription());
        });
        yield return ArmRoute.Create("GET", "/subscriptions/(?<sub>[^/]+)/resourceGroups/(?<rg>[^/]+)", EmulatorLatency.Get, request =>
        {
            context.RequireScope(request);
            return ArmResponse.Ok(new JsonObject
            {
                ["id"] = context.Ids.ResourceGroupId,
                ["name"] = context.Ids.ResourceGroup,
                ["type"] = "Microsoft.Resources/resourceGroups",
                ["location"] = context.Options.Location,
                ["properties"] = new JsonObject { ["provisioningState"] = "Succeeded" },
            });
        });
        yield return ArmRoute.Create("GET", "/subscriptions/(?<sub>[^/]+)/providers", EmulatorLatency.Get, request =>
        {
            context.RequireScope(request);
            return ArmResponse.Ok(new JsonObject { ["value"] = new JsonArray(Providers.Select(p => (JsonNode?)Provider(p.Namespace, p.Types)).ToArray()) });
        });
        yield return ArmRoute.Create("GET", "/subscriptions/(?<sub>[^/]+)/providers/(?<ns>[^/]+)", EmulatorLatency.Get, request =>
        {
            context.RequireScope(request);
            var provider = Providers.FirstOrDefault(p => string.Equals(p.Namespace, request["ns"], StringComparison.OrdinalIgnoreCase));
            return provider.Namespace is null
                ? throw ArmException.NotFound($"The resource provider '{request["ns"]}' is not modelled by the emulator.", "InvalidResourceNamespace")
                : ArmResponse.Ok(Provider(provider.Namespace, provider.Types));
        });
    }

    private JsonObject Subscription() => new()
    {
        ["id"] = $"/subscriptions/{context.Ids.SubscriptionId}",
        ["subscriptionId"] = context.Ids.SubscriptionId,
        ["displayName"] = "Shellbox ARM emulator",
        ["state"] = "Enabled",
        ["tenantId"] = "00000000-0000-0000-0000-000000000000",
        ["subscriptionPolicies"] = new JsonObject { ["locationPlacementId"] = "Public_2014-09-01", ["quotaId"] = "Emulator", ["spendingLimit"] = "Off" },
        ["authorizationSource"] = "RoleBased",
    };

    private JsonObject Provider(string ns, (string Type, string[] ApiVersions)[] types) => new()
    {
        ["id"] = $"/subscriptions/{context.Ids.SubscriptionId}/providers/{ns}",
        ["namespace"] = ns,
        ["registrationState"] = "Registered",
        ["registrationPolicy"] = "RegistrationRequired",
        ["resourceTypes"] = new JsonArray(types.Select(t => (JsonNode?)new JsonObject
        {
            ["resourceType"] = t.Type,
            ["locations"] = new JsonArray(context.Options.Location),
            ["apiVersions"] = new JsonArray(t.ApiVersions.Select(v => (JsonNode?)v).ToArray()),
            ["capabilities"] = "None",
        }).ToArray()),
    };
}
