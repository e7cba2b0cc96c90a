using System.Text.Json.Nodes;
using Shellbox.ArmEmulator.Arm;
using Shellbox.ArmEmulator.Model;
using Shellbox.ArmEmulator.Storage;
using static Shellbox.ArmEmulator.Arm.RoutePatterns;

namespace Shellbox.ArmEmulator.Compute;

/// <summary>Microsoft.Compute/snapshots (compute spec: DiskRP/stable/2023-04-02/snapshot.json): CreateOrUpdate
/// (Copy from a disk, incremental or full: both copy the disk's folder), Get, Update (tags), Delete, ListByResourceGroup.</summary>
internal sealed class SnapshotRoutes(EmulatorContext context, Uri baseUri)
{
    private const string Namespace = "Microsoft.Compute";
    private EmulatorState State => context.State;

    public IEnumerable<ArmRoute> Routes()
    {
        var snapshot = ComputeProvider + $"/snapshots/(?<name>{Name})";
        yield return ArmRoute.Create("GET", ComputeProvider + "/snapshots", EmulatorLatency.Get, List);
        yield return ArmRoute.Create("PUT", snapshot, null, Put);
        yield return ArmRoute.Create("GET", snapshot, EmulatorLatency.Get, Get);
        yield return ArmRoute.Create("PATCH", snapshot, null, Patch);
        yield return ArmRoute.Create("DELETE", snapshot, null, Delete);
    }

    private ArmResponse List(ArmRequest request)
    {
        context.RequireScope(request);
        lock (State.Gate) return ListPage.Of(State.SnapshotModels.Values, request, baseUri, context.Options.ListPageSize);
    }

    private ArmResponse Get(ArmRequest request)
    {
        context.RequireScope(request);
        lock (State.Gate) return ArmResponse.Ok(Find(request["name"]).ToJson());
    }

    private ArmResponse Put(ArmRequest request)
    {
        context.RequireScope(request);
        var name = request["name"];
        FolderStore.RequireValidName(name, "snapshot");
        var body = request.RequireBody();
        lock (State.Gate)
        {
            if (State.SnapshotModels.TryGetValue(name, out var existing)) return UpdateTags(request, existing, body);
            var creation = body["properties"]?["creationData"] as JsonObject
                ?? throw ArmException.BadRequest("Required parameter 'creationData' is missing (null).");
            var createOption = creation["createOption"]?.GetValue<string>() ?? "";
            if (!string.Equals(createOption, "Copy", StringComparison.OrdinalIgnoreCase))
                throw ArmException.BadRequest($"Snapshot createOption '{createOption}' is not modelled; use Copy.", "InvalidParameter");
            var sourceId = creation["sourceResourceId"]?.GetValue<string>()
                ?? throw ArmException.BadRequest("'sourceResourceId' is required when createOption is Copy.", "InvalidParameter");
            if (!context.Ids.TryName(sourceId, ResourceIds.DiskType, out var diskName) || !State.DiskModels.TryGetValue(diskName, out var source))
                throw ArmException.NotFound($"The source disk '{sourceId}' was not found.", "NotFound");
            if (source.ProvisioningState != "Succeeded" && source.ActiveOperation == EmulatorLatency.DiskCreate)
                throw EmulatorContext.InFlight(source);

            var folder = context.Folders.SnapshotFolder(name);
            // The copy starts now: a snapshot is the disk's content at the time of the request.
            var copy = FolderStore.CopyAsync(source.Folder, folder, CancellationToken.None);
            var snapshot = new SnapshotModel(context.Ids.Snapshot(name), name, body["location"]?.GetValue<string>() ?? context.Options.Location, folder)
            {
                Tags = EmulatorContext.ParseTags(body["tags"]) ?? new Dictionary<string, string>(StringComparer.Ordinal),
                DiskSizeGB = source.DiskSizeGB,
                Incremental = body["properties"]?["incremental"]?.GetValue<bool>() ?? false,
                CreationData = (JsonObject)creation.DeepClone(),
                ProvisioningState = "Updating",
                ActiveOperation = EmulatorLatency.SnapshotCreate,
            };
            State.SnapshotModels[name] = snapshot;
            State.Changed(snapshot);
            var operation = context.Operations.Start(EmulatorLatency.SnapshotCreate, context.Latency.Next(EmulatorLatency.SnapshotCreate), async _ =>
            {
                try
                {
                    await copy.ConfigureAwait(false);
                }
                catch (Exception)
                {
                    Finish(snapshot, "Failed");
                    throw;
                }
                Finish(snapshot, "Succeeded");
                return null;
            });
            return context.Operations.Accepted(new ArmResponse(202, snapshot.ToJson()), operation, Namespace, request.ApiVersion, withLocation: true);
        }
    }

    private ArmResponse Patch(ArmRequest request)
    {
        context.RequireScope(request);
        var body = request.RequireBody();
        lock (State.Gate) return UpdateTags(request, Find(request["name"]), body);
    }

    private ArmResponse UpdateTags(ArmRequest request, SnapshotModel snapshot, JsonObject body)
    {
        if (snapshot.ActiveOperation is not null) throw EmulatorContext.InFlight(snapshot);
        if (EmulatorContext.ParseTags(body["tags"]) is { } tags) snapshot.Tags = tags;
        snapshot.ActiveOperation = EmulatorLatency.DiskUpdate;
        State.Changed(snapshot);
        var operation = context.Operations.Start(EmulatorLatency.DiskUpdate, context.Latency.Next(EmulatorLatency.DiskUpdate), _ =>
        {
            Finish(snapshot, "Succeeded");
            return Task.FromResult<JsonNode?>(null);
        });
        return context.Operations.Accepted(ArmResponse.Ok(snapshot.ToJson()), operation, Namespace, request.ApiVersion, withLocation: true);
    }

    private ArmResponse Delete(ArmRequest request)
    {
        context.RequireScope(request);
        lock (State.Gate)
        {
            if (!State.SnapshotModels.TryGetValue(request["name"], out var snapshot)) return new ArmResponse(204);
            if (snapshot.ActiveOperation is not null) throw EmulatorContext.InFlight(snapshot);
            snapshot.ActiveOperation = EmulatorLatency.SnapshotDelete;
            snapshot.ProvisioningState = "Deleting";
            State.Changed(snapshot);
            var operation = context.Operations.Start(EmulatorLatency.SnapshotDelete, context.Latency.Next(EmulatorLatency.SnapshotDelete), _ =>
            {
                lock (State.Gate)
                {
                    State.SnapshotModels.Remove(snapshot.Name);
                    FolderStore.Delete(snapshot.Folder);
                    State.Removed(snapshot);
                }
                return Task.FromResult<JsonNode?>(null);
            });
            return context.Operations.Accepted(new ArmResponse(202), operation, Namespace, request.ApiVersion, withLocation: true);
        }
    }

    private SnapshotModel Find(string name) =>
        State.SnapshotModels.TryGetValue(name, out var snapshot) ? snapshot
            : throw EmulatorContext.ResourceNotFound(ResourceIds.SnapshotType, name, context.Ids.ResourceGroup);

    private void Finish(SnapshotModel snapshot, string provisioningState)
    {
        lock (State.Gate)
        {
            snapshot.ProvisioningState = provisioningState;
            snapshot.ActiveOperation = null;
            if (State.SnapshotModels.ContainsKey(snapshot.Name)) State.Changed(snapshot);
        }
    }
}
