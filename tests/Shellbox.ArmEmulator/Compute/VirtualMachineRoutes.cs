using System.Text.Json.Nodes;
using Shellbox.ArmEmulator.Arm;
using Shellbox.ArmEmulator.Model;
using Shellbox.ArmEmulator.Storage;
using static Shellbox.ArmEmulator.Arm.RoutePatterns;

namespace Shellbox.ArmEmulator.Compute;

/// <summary>Microsoft.Compute/virtualMachines (compute spec: ComputeRP/stable/2024-03-01/virtualMachine.json):
/// CreateOrUpdate, Get, Update, Delete, List, AttachDetachDataDisks.</summary>
internal sealed class VirtualMachineRoutes(EmulatorContext context)
{
    private const string Namespace = "Microsoft.Compute";
    private EmulatorState State => context.State;

    public IEnumerable<ArmRoute> Routes()
    {
        var vm = ComputeProvider + $"/virtualMachines/(?<name>{Name})";
        yield return ArmRoute.Create("GET", ComputeProvider + "/virtualMachines", EmulatorLatency.Get, List);
        yield return ArmRoute.Create("PUT", vm, null, Put);
        yield return ArmRoute.Create("GET", vm, EmulatorLatency.Get, Get);
        yield return ArmRoute.Create("GET", vm + "/instanceView", EmulatorLatency.Get, GetInstanceView);
        yield return ArmRoute.Create("PATCH", vm, null, Patch);
        yield return ArmRoute.Create("DELETE", vm, null, Delete);
        yield return ArmRoute.Create("POST", vm + "/attachDetachDataDisks", null, AttachDetachDataDisks);
    }

    private ArmResponse List(ArmRequest request)
    {
        context.RequireScope(request);
        lock (State.Gate)
            return ArmResponse.Ok(new JsonObject
            {
                ["value"] = new JsonArray(State.VmModels.Values.OrderBy(v => v.Name, StringComparer.Ordinal).Select(v => (JsonNode?)v.ToJson()).ToArray()),
            });
    }

    private ArmResponse Get(ArmRequest request)
    {
        context.RequireScope(request);
        lock (State.Gate)
        {
            var vm = Find(request["name"]);
            var json = vm.ToJson();
            if (request.Query.TryGetValue("$expand", out var expand) && expand.Contains("instanceView", StringComparison.OrdinalIgnoreCase))
                json["properties"]!["instanceView"] = InstanceView(vm);
            return ArmResponse.Ok(json);
        }
    }

    private ArmResponse GetInstanceView(ArmRequest request)
    {
        context.RequireScope(request);
        lock (State.Gate) return ArmResponse.Ok(InstanceView(Find(request["name"])));
    }

    /// <summary>VirtualMachineInstanceView: the provisioning state and, once created, PowerState/running.</summary>
    private static JsonObject InstanceView(VirtualMachineModel vm)
    {
        var statuses = new JsonArray(new JsonObject
        {
            ["code"] = $"ProvisioningState/{vm.ProvisioningState.ToLowerInvariant()}",
            ["level"] = vm.ProvisioningState == "Failed" ? "Error" : "Info",
            ["displayStatus"] = $"Provisioning {vm.ProvisioningState.ToLowerInvariant()}",
        });
        if (vm.ProvisioningState is "Succeeded" or "Updating")
            statuses.Add(new JsonObject { ["code"] = "PowerState/running", ["level"] = "Info", ["displayStatus"] = "VM running" });
        return new JsonObject { ["computerName"] = vm.Name, ["osName"] = "debian", ["statuses"] = statuses };
    }

    /// <summary>Create (201) or, for an existing VM, an update of tags and data disks (200). Either way the
    /// VM reads Creating/Updating until the operation completes.</summary>
    private ArmResponse Put(ArmRequest request)
    {
        context.RequireScope(request);
        var name = request["name"];
        FolderStore.RequireValidName(name, "virtual machine");
        var body = request.RequireBody();
        lock (State.Gate)
        {
            if (State.VmModels.TryGetValue(name, out var existing)) return Update(request, existing, body);
            if (context.Options.MaxVirtualMachines is { } quota && State.VmModels.Count >= quota)
                throw ArmException.Conflict(
                    $"Operation could not be completed as it results in exceeding approved quota. Current limit: {quota} virtual machines in {context.Options.Location}, current usage: {State.VmModels.Count}, additional required: 1.",
                    "OperationNotAllowed");
            var vm = Create(name, body);
            var operation = context.Operations.Start(EmulatorLatency.VmCreate, context.Latency.Next(EmulatorLatency.VmCreate),
                ct => CompleteCreateAsync(vm, ct));
            return context.Operations.Accepted(new ArmResponse(201, vm.ToJson()), operation, Namespace, request.ApiVersion, withLocation: false);
        }
    }

    private ArmResponse Patch(ArmRequest request)
    {
        context.RequireScope(request);
        var body = request.RequireBody();
        lock (State.Gate) return Update(request, Find(request["name"]), body);
    }

    /// <summary>PATCH semantics (and PUT on an existing VM): "tags" replaces the whole tag map and
    /// storageProfile.dataDisks the whole data disk list when given; a disk left out is detached.</summary>
    private ArmResponse Update(ArmRequest request, VirtualMachineModel vm, JsonObject body)
    {
        if (vm.ActiveOperation is not null) throw EmulatorContext.InFlight(vm);
        var tags = EmulatorContext.ParseTags(body["tags"]);
        var dataDisks = body["properties"]?["storageProfile"]?["dataDisks"];
        if (dataDisks is not null and not JsonArray) throw ArmException.BadRequest("'storageProfile.dataDisks' must be an array.");
        var desired = dataDisks is JsonArray list ? DataDiskChange.Parse(list) : null;

        var change = desired is null ? new DataDiskChange([], []) : DataDiskChange.Apply(context, vm, desired);
        if (tags is not null) vm.Tags = tags;
        if (body["properties"]?["hardwareProfile"] is JsonObject hardware) vm.HardwareProfile = (JsonObject)hardware.DeepClone();
        vm.ProvisioningState = "Updating";
        vm.ActiveOperation = EmulatorLatency.VmUpdate;
        State.Changed(vm);
        var operation = context.Operations.Start(EmulatorLatency.VmUpdate, context.Latency.Next(EmulatorLatency.VmUpdate),
            ct => CompleteUpdateAsync(vm, change, result: null, ct));
        return context.Operations.Accepted(ArmResponse.Ok(vm.ToJson()), operation, Namespace, request.ApiVersion, withLocation: false);
    }

    /// <summary>POST .../attachDetachDataDisks (api-version 2024-03-01): dataDisksToAttach[{diskId, lun}],
    /// dataDisksToDetach[{diskId}]; 202 with Location, whose final answer is the VM's storageProfile.</summary>
    private ArmResponse AttachDetachDataDisks(ArmRequest request)
    {
        context.RequireScope(request);
        var body = request.RequireBody();
        lock (State.Gate)
        {
            var vm = Find(request["name"]);
            if (vm.ActiveOperation is not null) throw EmulatorContext.InFlight(vm);
            var desired = vm.DataDisks.Select(d => new DesiredDataDisk(d.Lun, "Attach", d.DiskId, d.DiskName, null, d.Caching, d.DeleteOption)).ToList();
            foreach (var node in body["dataDisksToDetach"] as JsonArray ?? [])
            {
                var diskId = node?["diskId"]?.GetValue<string>() ?? throw ArmException.BadRequest("dataDisksToDetach[].diskId is required.");
                if (desired.RemoveAll(d => string.Equals(d.DiskId, diskId, StringComparison.OrdinalIgnoreCase)) == 0)
                    throw ArmException.BadRequest($"Disk '{diskId}' is not attached to VM '{vm.Name}'.", "InvalidParameter");
            }
            foreach (var node in body["dataDisksToAttach"] as JsonArray ?? [])
            {
                var diskId = node?["diskId"]?.GetValue<string>() ?? throw ArmException.BadRequest("dataDisksToAttach[].diskId is required.");
                var lun = node["lun"]?.GetValue<int>() ?? Enumerable.Range(0, 64).First(l => desired.All(d => d.Lun != l));
                desired.Add(new DesiredDataDisk(lun, "Attach", diskId, null, null, node["caching"]?.GetValue<string>() ?? "None",
                    node["deleteOption"]?.GetValue<string>() ?? "Detach"));
            }
            var change = DataDiskChange.Apply(context, vm, desired);
            vm.ProvisioningState = "Updating";
            vm.ActiveOperation = EmulatorLatency.VmUpdate;
            State.Changed(vm);
            var operation = context.Operations.Start(EmulatorLatency.VmUpdate, context.Latency.Next(EmulatorLatency.VmUpdate),
                ct => CompleteUpdateAsync(vm, change, result: () => vm.StorageProfileJson(), ct));
            return context.Operations.Accepted(new ArmResponse(202), operation, Namespace, request.ApiVersion, withLocation: true);
        }
    }

    /// <summary>202 with Location; when it completes the NIC and OS disk go per their deleteOption and data
    /// disks are detached unless their deleteOption is Delete.</summary>
    private ArmResponse Delete(ArmRequest request)
    {
        context.RequireScope(request);
        lock (State.Gate)
        {
            if (!State.VmModels.TryGetValue(request["name"], out var vm)) return new ArmResponse(204);
            if (vm.ActiveOperation is not null) throw EmulatorContext.InFlight(vm);
            vm.ProvisioningState = "Deleting";
            vm.ActiveOperation = EmulatorLatency.VmDelete;
            State.Changed(vm);
            var operation = context.Operations.Start(EmulatorLatency.VmDelete, context.Latency.Next(EmulatorLatency.VmDelete),
                ct => CompleteDeleteAsync(vm, ct));
            return context.Operations.Accepted(new ArmResponse(202), operation, Namespace, request.ApiVersion, withLocation: true);
        }
    }

    private VirtualMachineModel Find(string name) =>
        State.VmModels.TryGetValue(name, out var vm) ? vm
            : throw EmulatorContext.ResourceNotFound(ResourceIds.VirtualMachineType, name, context.Ids.ResourceGroup);

    private VirtualMachineModel Create(string name, JsonObject body)
    {
        var properties = body["properties"] as JsonObject ?? throw ArmException.BadRequest("Required parameter 'properties' is missing (null).");
        var osProfile = properties["osProfile"] as JsonObject ?? throw ArmException.BadRequest("Required parameter 'osProfile' is missing (null).");
        var adminUsername = osProfile["adminUsername"]?.GetValue<string>()
            ?? throw ArmException.BadRequest("Required parameter 'adminUsername' is missing (null).");
        var keys = (osProfile["linuxConfiguration"]?["ssh"]?["publicKeys"] as JsonArray ?? [])
            .Select(k => k?["keyData"]?.GetValue<string>()).OfType<string>().ToList();
        var customData = osProfile["customData"]?.GetValue<string>();
        if (customData is not null && !IsBase64(customData))
            throw ArmException.BadRequest("Custom data in OSProfile must be in Base64 encoding and with a maximum length of 87380 characters.", "InvalidParameter");
        var storage = properties["storageProfile"] as JsonObject ?? throw ArmException.BadRequest("Required parameter 'storageProfile' is missing (null).");
        var osDiskJson = storage["osDisk"] as JsonObject ?? new JsonObject();
        var osDiskName = osDiskJson["name"]?.GetValue<string>() ?? $"{name}_OsDisk_1_{Guid.NewGuid():N}";
        FolderStore.RequireValidName(osDiskName, "disk");
        if (State.DiskModels.ContainsKey(osDiskName)) throw ArmException.Conflict($"A disk named '{osDiskName}' already exists.", "ConflictingDiskName");
        var location = body["location"]?.GetValue<string>() ?? context.Options.Location;

        var id = context.Ids.VirtualMachine(name);
        var nics = ResolveNetwork(name, id, location, properties["networkProfile"] as JsonObject, out var privateIp, out var configurations, out var networkApiVersion);

        var osDisk = new DataDiskAttachment(-1, context.Ids.Disk(osDiskName), osDiskName,
            osDiskJson["caching"]?.GetValue<string>() ?? "ReadWrite",
            osDiskJson["deleteOption"]?.GetValue<string>() ?? "Detach",
            osDiskJson["createOption"]?.GetValue<string>() ?? "FromImage");
        var vm = new VirtualMachineModel(id, name, location)
        {
            OsDisk = osDisk,
            Tags = EmulatorContext.ParseTags(body["tags"]) ?? new Dictionary<string, string>(StringComparer.Ordinal),
            HardwareProfile = properties["hardwareProfile"]?.DeepClone() as JsonObject ?? new JsonObject(),
            ImageReference = storage["imageReference"]?.DeepClone() as JsonObject,
            OsProfile = (JsonObject)osProfile.DeepClone(),
            AdminUsername = adminUsername,
            SshPublicKeys = keys,
            CustomData = customData,
            NetworkInterfaceConfigurations = configurations,
            NetworkApiVersion = networkApiVersion,
            PrivateIp = privateIp,
            ProvisioningState = "Creating",
            ActiveOperation = EmulatorLatency.VmCreate,
        };
        // Validate the data disks before anything is created, then create the NICs and the OS disk.
        var desired = storage["dataDisks"] is JsonArray dataDisks ? DataDiskChange.Parse(dataDisks) : [];
        DataDiskChange.Apply(context, vm, desired);
        vm.NetworkInterfaces = nics.Select(n => n.Attachment).ToList();
        foreach (var nic in nics.Select(n => n.Created).OfType<NetworkInterfaceModel>())
        {
            State.NicModels[nic.Name] = nic;
            State.Changed(nic);
        }
        foreach (var attachment in nics.Where(n => n.Created is null))
        {
            var nic = State.NicModels[attachment.Attachment.Id[(attachment.Attachment.Id.LastIndexOf('/') + 1)..]];
            nic.VirtualMachineId = id;
            State.Changed(nic);
        }
        var osFolder = context.Folders.DiskFolder(osDiskName);
        FolderStore.CreateEmpty(osFolder);
        var osDiskModel = new DiskModel(osDisk.DiskId, osDiskName, location, osFolder)
        {
            DiskSizeGB = osDiskJson["diskSizeGB"]?.GetValue<int>() ?? 30,
            CreationData = new JsonObject { ["createOption"] = "FromImage" },
            AttachedTo = id,
            DiskState = "Attached",
        };
        State.DiskModels[osDiskName] = osDiskModel;
        State.Changed(osDiskModel);
        State.VmModels[name] = vm;
        State.Changed(vm);
        return vm;
    }

    private sealed record ResolvedNic(NetworkInterfaceAttachment Attachment, NetworkInterfaceModel? Created);

    /// <summary>networkProfile.networkInterfaces (existing NIC ids) or networkInterfaceConfigurations
    /// (networkApiVersion 2020-11-01+: ARM creates a NIC per configuration; here it is named after the
    /// configuration). The VM's private IP is a fresh loopback address, or the existing NIC's.</summary>
    private List<ResolvedNic> ResolveNetwork(string vmName, string vmId, string location, JsonObject? network,
        out string privateIp, out JsonArray? configurations, out string? networkApiVersion)
    {
        configurations = network?["networkInterfaceConfigurations"]?.DeepClone() as JsonArray;
        networkApiVersion = network?["networkApiVersion"]?.GetValue<string>();
        var result = new List<ResolvedNic>();
        string? existingIp = null;
        foreach (var node in network?["networkInterfaces"] as JsonArray ?? [])
        {
            var nicId = node?["id"]?.GetValue<string>();
            if (!context.Ids.TryName(nicId, ResourceIds.NetworkInterfaceType, out var nicName) || !State.NicModels.TryGetValue(nicName, out var nic))
                throw ArmException.NotFound($"Network interface '{nicId}' was not found.", "NotFound");
            if (nic.VirtualMachineId is not null)
                throw ArmException.BadRequest($"Network interface '{nic.Name}' is used by '{nic.VirtualMachineId}'.", "NicInUse");
            existingIp ??= nic.PrivateIp;
            result.Add(new ResolvedNic(new NetworkInterfaceAttachment(nic.Id,
                node!["properties"]?["primary"]?.GetValue<bool>() ?? result.Count == 0,
                node["properties"]?["deleteOption"]?.GetValue<string>() ?? "Detach"), null));
        }
        privateIp = existingIp ?? State.AllocatePrivateIp();
        foreach (var node in configurations ?? [])
        {
            var configName = node?["name"]?.GetValue<string>() ?? throw ArmException.BadRequest("networkInterfaceConfigurations[].name is required.");
            FolderStore.RequireValidName(configName, "network interface");
            if (State.NicModels.ContainsKey(configName) || result.Any(r => r.Created?.Name == configName))
                throw ArmException.Conflict($"A network interface named '{configName}' already exists.", "ConflictingNicName");
            var props = node!["properties"];
            var ipConfig = props?["ipConfigurations"]?[0];
            var nic = new NetworkInterfaceModel(context.Ids.NetworkInterface(configName), configName, location, privateIp)
            {
                VirtualMachineId = vmId,
                IpConfigurationName = ipConfig?["name"]?.GetValue<string>() ?? "ipconfig1",
                Subnet = ipConfig?["properties"]?["subnet"]?.DeepClone() as JsonObject,
            };
            result.Add(new ResolvedNic(new NetworkInterfaceAttachment(nic.Id,
                props?["primary"]?.GetValue<bool>() ?? result.Count == 0,
                props?["deleteOption"]?.GetValue<string>() ?? "Detach"), nic));
        }
        if (result.Count == 0)
            throw ArmException.BadRequest($"VM '{vmName}' needs networkProfile.networkInterfaces or networkInterfaceConfigurations.", "InvalidParameter");
        return result;
    }

    private async Task<JsonNode?> CompleteCreateAsync(VirtualMachineModel vm, CancellationToken ct)
    {
        EmulatedVm emulated;
        Dictionary<int, string> folders;
        lock (State.Gate)
        {
            emulated = new EmulatedVm(vm.Name, vm.PrivateIp, vm.AdminUsername, vm.SshPublicKeys.ToArray(), vm.CustomData,
                new Dictionary<string, string>(vm.Tags));
            folders = DiskFolders(vm);
        }
        try
        {
            await context.VmHost.StartAsync(emulated, ct).ConfigureAwait(false);
            if (folders.Count > 0) await context.VmHost.DataDisksChangedAsync(vm.Name, folders, ct).ConfigureAwait(false);
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            Finish(vm, "Failed", change: null);
            throw new ArmException(500, "VMStartFailed", $"The VM host could not start VM '{vm.Name}': {error.Message}");
        }
        Finish(vm, "Succeeded", new DataDiskChange(vm.DataDisks.Select(d => State.DiskModels.GetValueOrDefault(d.DiskName)).OfType<DiskModel>().ToList(), []));
        return null;
    }

    private async Task<JsonNode?> CompleteUpdateAsync(VirtualMachineModel vm, DataDiskChange change, Func<JsonNode>? result, CancellationToken ct)
    {
        if (!change.IsEmpty)
        {
            Dictionary<int, string> folders;
            lock (State.Gate) folders = DiskFolders(vm);
            try
            {
                await context.VmHost.DataDisksChangedAsync(vm.Name, folders, ct).ConfigureAwait(false);
            }
            catch (Exception error) when (error is not OperationCanceledException)
            {
                lock (State.Gate) change.Abandon(State, vm);
                Finish(vm, "Failed", change: null);
                throw new ArmException(500, "DiskAttachFailed", $"The VM host could not change the disks of VM '{vm.Name}': {error.Message}");
            }
        }
        Finish(vm, "Succeeded", change);
        lock (State.Gate) return result?.Invoke();
    }

    private async Task<JsonNode?> CompleteDeleteAsync(VirtualMachineModel vm, CancellationToken ct)
    {
        try
        {
            await context.VmHost.StopAsync(vm.Name, ct).ConfigureAwait(false);
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            Finish(vm, "Failed", change: null);
            throw new ArmException(500, "VMDeleteFailed", $"The VM host could not stop VM '{vm.Name}': {error.Message}");
        }
        lock (State.Gate)
        {
            foreach (var nic in vm.NetworkInterfaces)
            {
                var nicName = nic.Id[(nic.Id.LastIndexOf('/') + 1)..];
                if (!State.NicModels.TryGetValue(nicName, out var model)) continue;
                if (string.Equals(nic.DeleteOption, "Delete", StringComparison.OrdinalIgnoreCase))
                {
                    State.NicModels.Remove(nicName);
                    State.Removed(model);
                }
                else
                {
                    model.VirtualMachineId = null;
                    State.Changed(model);
                }
            }
            foreach (var disk in vm.DataDisks.Append(vm.OsDisk))
            {
                if (!State.DiskModels.TryGetValue(disk.DiskName, out var model)) continue;
                if (string.Equals(disk.DeleteOption, "Delete", StringComparison.OrdinalIgnoreCase))
                {
                    State.DiskModels.Remove(disk.DiskName);
                    FolderStore.Delete(model.Folder);
                    State.Removed(model);
                }
                else
                {
                    model.AttachedTo = null;
                    model.DiskState = "Unattached";
                    State.Changed(model);
                }
            }
            State.VmModels.Remove(vm.Name);
            State.Removed(vm);
        }
        return null;
    }

    private void Finish(VirtualMachineModel vm, string provisioningState, DataDiskChange? change)
    {
        lock (State.Gate)
        {
            change?.Complete(State);
            vm.ProvisioningState = provisioningState;
            vm.ActiveOperation = null;
            if (State.VmModels.ContainsKey(vm.Name)) State.Changed(vm);
        }
    }

    private Dictionary<int, string> DiskFolders(VirtualMachineModel vm) =>
        vm.DataDisks.Where(d => State.DiskModels.ContainsKey(d.DiskName))
            .ToDictionary(d => d.Lun, d => State.DiskModels[d.DiskName].Folder);

    private static bool IsBase64(string value)
    {
        var buffer = new byte[value.Length];
        return Convert.TryFromBase64String(value, buffer, out _);
    }
}
