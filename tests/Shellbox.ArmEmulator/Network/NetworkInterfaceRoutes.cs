using System.Text.Json.Nodes;
using Shellbox.ArmEmulator.Arm;
using Shellbox.ArmEmulator.Model;
using static Shellbox.ArmEmulator.Arm.RoutePatterns;

namespace Shellbox.ArmEmulator.Network;

/// <summary>Microsoft.Network/networkInterfaces (network spec: stable/2023-09-01/networkInterface.json): Get,
/// Delete (refused while a VM uses it), List. ipConfigurations[0].properties.privateIPAddress is the VM's address.</summary>
internal sealed class NetworkInterfaceRoutes(EmulatorContext context)
{
    private EmulatorState State => context.State;

    public IEnumerable<ArmRoute> Routes()
    {
        var nic = NetworkProvider + $"/networkInterfaces/(?<name>{Name})";
        yield return ArmRoute.Create("GET", NetworkProvider + "/networkInterfaces", EmulatorLatency.Get, List);
        yield return ArmRoute.Create("GET", nic, EmulatorLatency.Get, Get);
        yield return ArmRoute.Create("DELETE", nic, EmulatorLatency.Get, Delete);
    }

    private ArmResponse List(ArmRequest request)
    {
        context.RequireScope(request);
        lock (State.Gate)
            return ArmResponse.Ok(new JsonObject
            {
                ["value"] = new JsonArray(State.NicModels.Values.OrderBy(n => n.Name, StringComparer.Ordinal).Select(n => (JsonNode?)n.ToJson()).ToArray()),
            });
    }

    private ArmResponse Get(ArmRequest request)
    {
        context.RequireScope(request);
        lock (State.Gate)
        {
            return State.NicModels.TryGetValue(request["name"], out var nic) ? ArmResponse.Ok(nic.ToJson())
                : throw EmulatorContext.ResourceNotFound(ResourceIds.NetworkInterfaceType, request["name"], context.Ids.ResourceGroup);
        }
    }

    /// <summary>Network deletes complete synchronously here (200); a NIC in use is refused as ARM refuses it.</summary>
    private ArmResponse Delete(ArmRequest request)
    {
        context.RequireScope(request);
        lock (State.Gate)
        {
            if (!State.NicModels.TryGetValue(request["name"], out var nic)) return new ArmResponse(204);
            if (nic.VirtualMachineId is not null)
                throw ArmException.BadRequest($"Network Interface {nic.Id} is used by existing resource {nic.VirtualMachineId}.", "NicInUse");
            State.NicModels.Remove(nic.Name);
            State.Removed(nic);
            return new ArmResponse(200);
        }
    }
}
