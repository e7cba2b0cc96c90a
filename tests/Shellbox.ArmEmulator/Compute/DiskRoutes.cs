using System.Text.Json.Nodes;
using Shellbox.ArmEmulator.Arm;
using Shellbox.ArmEmulator.Model;
using Shellbox.ArmEmulator.Storage;
using static Shellbox.ArmEmulator.Arm.RoutePatterns;

namespace Shellbox.ArmEmulator.Compute;

/// <summary>Microsoft.Compute/disks (compute spec: DiskRP/stable/2023-04-02/disk.json): CreateOrUpdate
/// (Empty, or Copy from a snapshot or disk), Get, Update (tags), Delete (refused while attached), ListByResourceGroup.</summary>
internal sealed class DiskRoutes(EmulatorContext context, Uri baseUri)
{
    private const string Namespace = "Microsoft.Compute";
    private EmulatorState State => context.State;

    public IEnumerable<ArmRoute> Routes()
    {
        var disk = ComputeProvider + $"/disks/(?<name>{Name})";
        yield return ArmRoute.Create("GET", ComputeProvider + "/disks", EmulatorLatency.Get, List);
        yield return ArmRoute.Create("PUT", disk, null, Put);
        yield return ArmRoute.Create("GET", disk, EmulatorLatency.Get, Get);
        yield return ArmRoute.Create("PATCH", disk, null, Patch);
        yield return ArmRoute.Create("DELETE", disk, null, Delete);
    }

    private ArmResponse List(ArmRequest request)
    {
        context.RequireScope(request);
        lock (State.Gate) return ListPage.Of(State.DiskModels.Values, request, baseUri, context.Options.ListPageSize);
    }

    private ArmResponse Get(ArmRequest request)
    {
        context.RequireScope(request);
        lock (State.Gate) return ArmResponse.Ok(Find(request["name"]).ToJson());
    }

    /// <summary>A new disk is an empty folder (Empty) or a copy of the source's folder (Copy); tags come in the
    /// same call. 202 with Azure-AsyncOperation and Location; the disk reads Updating until the copy is done.</summary>
    private ArmResponse Put(ArmRequest request)
    {
        context.RequireScope(request);
        var name = request["name"];
        FolderStore.RequireValidName(name, "disk");
        var body = request.RequireBody();
        lock (State.Gate)
        {
            if (State.DiskModels.TryGetValue(name, out var existing)) return Update(request, existing, body);
            var tags = EmulatorContext.ParseTags(body["tags"]) ?? new Dictionary<string, string>(StringComparer.Ordinal);
            var creation = body["properties"]?["creationData"] as JsonObject
                ?? throw ArmException.BadRequest("Required parameter 'creationData' is missing (null).");
            var createOption = creation["createOption"]?.GetValue<string>() ?? "";
            var sizeGB = body["properties"]?["diskSizeGB"]?.GetValue<int>();
            var folder = context.Folders.DiskFolder(name);
            Func<CancellationToken, Task> fill;
            if (string.Equals(createOption, "Empty", StringComparison.OrdinalIgnoreCase))
            {
                if (sizeGB is not > 0) throw ArmException.BadRequest("'diskSizeGB' is required when createOption is Empty.", "InvalidParameter");
                fill = _ =>
                {
                    FolderStore.CreateEmpty(folder);
                    return Task.CompletedTask;
                };
            }
            else if (string.Equals(createOption, "Copy", StringComparison.OrdinalIgnoreCase))
            {
                var sourceId = creation["sourceResourceId"]?.GetValue<string>()
                    ?? throw ArmException.BadRequest("'sourceResourceId' is required when createOption is Copy.", "InvalidParameter");
                var (sourceFolder, sourceSize) = FindSource(sourceId);
                sizeGB = Math.Max(sizeGB ?? 0, sourceSize);
                // The copy starts now (a point-in-time copy); the operation completes when it is done.
                var copy = FolderStore.CopyAsync(sourceFolder, folder, CancellationToken.None);
                fill = _ => copy;
            }
            else
            {
                throw ArmException.BadRequest($"Disk createOption '{createOption}' is not modelled; use Empty or Copy.", "InvalidParameter");
            }

            var disk = new DiskModel(context.Ids.Disk(name), name, body["location"]?.GetValue<string>() ?? context.Options.Location, folder)
            {
                Tags = tags,
                DiskSizeGB = sizeGB!.Value,
                CreationData = (JsonObject)creation.DeepClone(),
                Sku = body["sku"]?["name"]?.GetValue<string>() ?? "Premium_LRS",
                ProvisioningState = "Updating",
                ActiveOperation = EmulatorLatency.DiskCreate,
            };
            State.DiskModels[name] = disk;
            State.Changed(disk);
            var operation = context.Operations.Start(EmulatorLatency.DiskCreate, context.Latency.Next(EmulatorLatency.DiskCreate), async ct =>
            {
                try
                {
                    await fill(ct).ConfigureAwait(false);
                }
                catch (Exception)
                {
                    Finish(disk, "Failed");
                    throw;
                }
                Finish(disk, "Succeeded");
                return null;
            });
            return context.Operations.Accepted(new ArmResponse(202, disk.ToJson()), operation, Namespace, request.ApiVersion, withLocation: true);
        }
    }

    private ArmResponse Patch(ArmRequest request)
    {
        context.RequireScope(request);
        var body = request.RequireBody();
        lock (State.Gate) return Update(request, Find(request["name"]), body);
    }

    /// <summary>PATCH (and PUT on an existing disk): "tags" replaces the whole tag map; diskSizeGB may grow.</summary>
    private ArmResponse Update(ArmRequest request, DiskModel disk, JsonObject body)
    {
        if (disk.ActiveOperation is not null) throw EmulatorContext.InFlight(disk);
        var tags = EmulatorContext.ParseTags(body["tags"]);
        var sizeGB = body["properties"]?["diskSizeGB"]?.GetValue<int>();
        if (sizeGB is { } size && size < disk.DiskSizeGB)
            throw ArmException.BadRequest($"Disk '{disk.Name}' cannot shrink from {disk.DiskSizeGB} GB to {size} GB.", "BadRequest");
        if (tags is not null) disk.Tags = tags;
        if (sizeGB is { } grown) disk.DiskSizeGB = grown;
        disk.ProvisioningState = "Updating";
        disk.ActiveOperation = EmulatorLatency.DiskUpdate;
        State.Changed(disk);
        var operation = context.Operations.Start(EmulatorLatency.DiskUpdate, context.Latency.Next(EmulatorLatency.DiskUpdate), _ =>
        {
            Finish(disk, "Succeeded");
            return Task.FromResult<JsonNode?>(null);
        });
        return context.Operations.Accepted(ArmResponse.Ok(disk.ToJson()), operation, Namespace, request.ApiVersion, withLocation: true);
    }

    /// <summary>Refused with 409 while the disk is attached or reserved (managedBy set), as ARM refuses it.</summary>
    private ArmResponse Delete(ArmRequest request)
    {
        context.RequireScope(request);
        lock (State.Gate)
        {
            if (!State.DiskModels.TryGetValue(request["name"], out var disk)) return new ArmResponse(204);
            if (disk.AttachedTo is not null)
                throw ArmException.Conflict($"Disk {disk.Name} is attached to VM {disk.AttachedTo}.", "OperationNotAllowed");
            if (disk.ActiveOperation is not null) throw EmulatorContext.InFlight(disk);
            disk.ActiveOperation = EmulatorLatency.DiskDelete;
            disk.ProvisioningState = "Deleting";
            State.Changed(disk);
            var operation = context.Operations.Start(EmulatorLatency.DiskDelete, context.Latency.Next(EmulatorLatency.DiskDelete), _ =>
            {
                lock (State.Gate)
                {
                    State.DiskModels.Remove(disk.Name);
                    FolderStore.Delete(disk.Folder);
                    State.Removed(disk);
                }
                return Task.FromResult<JsonNode?>(null);
            });
            return context.Operations.Accepted(new ArmResponse(202), operation, Namespace, request.ApiVersion, withLocation: true);
        }
    }

    private (string Folder, int SizeGB) FindSource(string sourceId)
    {
        if (context.Ids.TryName(sourceId, ResourceIds.SnapshotType, out var snapshotName) && State.SnapshotModels.TryGetValue(snapshotName, out var snapshot))
        {
            if (snapshot.ProvisioningState != "Succeeded") throw EmulatorContext.InFlight(snapshot);
            return (snapshot.Folder, snapshot.DiskSizeGB);
        }
        if (context.Ids.TryName(sourceId, ResourceIds.DiskType, out var diskName) && State.DiskModels.TryGetValue(diskName, out var disk))
            return (disk.Folder, disk.DiskSizeGB);
        throw ArmException.NotFound($"The source resource '{sourceId}' was not found.", "NotFound");
    }

    private DiskModel Find(string name) =>
        State.DiskModels.TryGetValue(name, out var disk) ? disk
            : throw EmulatorContext.ResourceNotFound(ResourceIds.DiskType, name, context.Ids.ResourceGroup);

    private void Finish(DiskModel disk, string provisioningState)
    {
        lock (State.Gate)
        {
            disk.ProvisioningState = provisioningState;
            disk.ActiveOperation = null;
            if (State.DiskModels.ContainsKey(disk.Name)) State.Changed(disk);
        }
    }
}
