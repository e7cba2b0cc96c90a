using System.Text.Json.Nodes;
using Shellbox.ArmEmulator.Arm;
using Shellbox.ArmEmulator.Model;

namespace Shellbox.ArmEmulator.Resources;

/// <summary>The Tags API at a resource scope (resources spec: Microsoft.Resources/stable/2022-09-01/resources.json,
/// Tags_GetAtScope, Tags_CreateOrUpdateAtScope, Tags_UpdateAtScope with operation Merge|Replace|Delete).
/// Azure.ResourceManager's TagResource.UpdateAsync sends the PATCH directly; the answer is 200 (synchronous),
/// after the tags-merge latency.</summary>
internal sealed class TagRoutes(EmulatorContext context)
{
    private EmulatorState State => context.State;

    public IEnumerable<ArmRoute> Routes()
    {
        const string scope = @"(?<scope>/subscriptions/(?<sub>[^/]+)/resourceGroups/(?<rg>[^/]+)/providers/(?<type>Microsoft\.[A-Za-z]+/[A-Za-z]+)/(?<name>[^/]+))/providers/Microsoft\.Resources/tags/default";
        yield return ArmRoute.Create("GET", scope, EmulatorLatency.Get, Get);
        yield return ArmRoute.Create("PUT", scope, EmulatorLatency.TagsMerge, Put);
        yield return ArmRoute.Create("PATCH", scope, EmulatorLatency.TagsMerge, Patch);
        yield return ArmRoute.Create("DELETE", scope, EmulatorLatency.TagsMerge, Delete);
    }

    private ArmResponse Get(ArmRequest request)
    {
        context.RequireScope(request);
        lock (State.Gate) return ArmResponse.Ok(Body(request, Find(request)));
    }

    private ArmResponse Put(ArmRequest request)
    {
        context.RequireScope(request);
        var tags = EmulatorContext.ParseTags(request.RequireBody()["properties"]?["tags"]) ?? [];
        lock (State.Gate) return Write(request, Find(request), tags);
    }

    private ArmResponse Patch(ArmRequest request)
    {
        context.RequireScope(request);
        var body = request.RequireBody();
        var operation = body["operation"]?.GetValue<string>() ?? throw ArmException.BadRequest("'operation' is required: Merge, Replace or Delete.", "InvalidTagOperation");
        var given = EmulatorContext.ParseTags(body["properties"]?["tags"]) ?? [];
        lock (State.Gate)
        {
            var resource = Find(request);
            var tags = new Dictionary<string, string>(resource.Tags, StringComparer.Ordinal);
            switch (operation.ToLowerInvariant())
            {
                case "merge":
                    foreach (var (key, value) in given) tags[key] = value;
                    break;
                case "replace":
                    tags = given;
                    break;
                case "delete":
                    // Delete removes a named tag when its value matches, or whatever its value when given "".
                    foreach (var (key, value) in given)
                        if (tags.TryGetValue(key, out var current) && (value.Length == 0 || current == value)) tags.Remove(key);
                    break;
                default:
                    throw ArmException.BadRequest($"Tag operation '{operation}' is not one of Merge, Replace, Delete.", "InvalidTagOperation");
            }
            return Write(request, resource, tags);
        }
    }

    private ArmResponse Delete(ArmRequest request)
    {
        context.RequireScope(request);
        lock (State.Gate)
        {
            Write(request, Find(request), []);
            return new ArmResponse(200);
        }
    }

    private ArmResponse Write(ArmRequest request, ResourceModel resource, Dictionary<string, string> tags)
    {
        if (resource.ActiveOperation is not null) throw EmulatorContext.InFlight(resource);
        if (tags.Count > 50) throw ArmException.BadRequest("A resource can have at most 50 tags.", "InvalidTag");
        resource.Tags = tags;
        State.Changed(resource);
        return ArmResponse.Ok(Body(request, resource));
    }

    private ResourceModel Find(ArmRequest request)
    {
        var type = request["type"];
        var name = request["name"];
        ResourceModel? found = type.ToLowerInvariant() switch
        {
            "microsoft.compute/virtualmachines" => State.VmModels.GetValueOrDefault(name),
            "microsoft.compute/disks" => State.DiskModels.GetValueOrDefault(name),
            "microsoft.compute/snapshots" => State.SnapshotModels.GetValueOrDefault(name),
            "microsoft.network/networkinterfaces" => State.NicModels.GetValueOrDefault(name),
            _ => null,
        };
        return found ?? throw EmulatorContext.ResourceNotFound(type, name, context.Ids.ResourceGroup);
    }

    private static JsonObject Body(ArmRequest request, ResourceModel resource) => new()
    {
        ["id"] = resource.Id + "/providers/Microsoft.Resources/tags/default",
        ["name"] = "default",
        ["type"] = "Microsoft.Resources/tags",
        ["properties"] = new JsonObject { ["tags"] = ResourceModel.TagsJson(resource.Tags) },
    };
}
