using System.Text.Json;
using System.Text.Json.Nodes;
using Shellbox.ArmEmulator.Arm;
using Shellbox.ArmEmulator.Graph;
using Shellbox.ArmEmulator.Model;
using Shellbox.ArmEmulator.Storage;

namespace Shellbox.ArmEmulator;

/// <summary>What every route handler shares: the state, the operations, the latencies, the VM host.</summary>
internal sealed class EmulatorContext(
    ArmEmulatorOptions options,
    EmulatorState state,
    LongRunningOperations operations,
    EmulatorLatency latency,
    IVmHost vmHost,
    FolderStore folders,
    ResourceGraphHistory history,
    TimeProvider clock)
{
    public ArmEmulatorOptions Options { get; } = options;
    public EmulatorState State { get; } = state;
    public ResourceIds Ids => State.Ids;
    public LongRunningOperations Operations { get; } = operations;
    public EmulatorLatency Latency { get; } = latency;
    public IVmHost VmHost { get; } = vmHost;
    public FolderStore Folders { get; } = folders;
    public ResourceGraphHistory History { get; } = history;
    public TimeProvider Clock { get; } = clock;

    /// <summary>Only the modelled subscription and resource group exist; ARM answers 404 for others.</summary>
    public void RequireScope(ArmRequest request)
    {
        if (!string.Equals(request["sub"], Ids.SubscriptionId, StringComparison.OrdinalIgnoreCase))
            throw ArmException.NotFound($"The subscription '{request["sub"]}' could not be found.", "SubscriptionNotFound");
        if (request.Path.Contains("/resourceGroups/", StringComparison.OrdinalIgnoreCase)
            && !string.Equals(request["rg"], Ids.ResourceGroup, StringComparison.OrdinalIgnoreCase))
            throw ArmException.NotFound($"Resource group '{request["rg"]}' could not be found.", "ResourceGroupNotFound");
    }

    public static ArmException ResourceNotFound(string type, string name, string resourceGroup) =>
        ArmException.NotFound($"The Resource '{type}/{name}' under resource group '{resourceGroup}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix");

    public static ArmException InFlight(ResourceModel resource) => ArmException.Conflict(
        $"Operation on '{resource.Name}' is not allowed because another operation ({resource.ActiveOperation}) on it is still in progress.",
        "AnotherOperationInProgress");

    /// <summary>Tags from a request body's "tags" (null when absent); ARM tag values are strings.</summary>
    public static Dictionary<string, string>? ParseTags(JsonNode? tags)
    {
        if (tags is null) return null;
        if (tags is not JsonObject map) throw ArmException.BadRequest("'tags' must be an object of string values.", "InvalidTag");
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in map)
        {
            if (value is null || value.GetValueKind() != JsonValueKind.String)
                throw ArmException.BadRequest($"The value of tag '{key}' must be a string.", "InvalidTag");
            result[key] = value.GetValue<string>();
        }
        if (result.Count > 50) throw ArmException.BadRequest("A resource can have at most 50 tags.", "InvalidTag");
        return result;
    }
}
