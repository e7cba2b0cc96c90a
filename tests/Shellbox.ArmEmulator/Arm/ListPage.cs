using System.Globalization;
using System.Text.Json.Nodes;
using Shellbox.ArmEmulator.Model;

namespace Shellbox.ArmEmulator.Arm;

/// <summary>A page of a list call: {value:[...], nextLink} where nextLink is an absolute URL carrying
/// $skiptoken (azure-resource-manager-rpc: resource-api-reference.md, "Get Resource ... collection").</summary>
internal static class ListPage
{
    public static ArmResponse Of(IEnumerable<ResourceModel> resources, ArmRequest request, Uri baseUri, int pageSize)
    {
        var skip = 0;
        if (request.Query.TryGetValue("$skiptoken", out var token)
            && !int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out skip))
            throw ArmException.BadRequest($"The $skiptoken '{token}' is invalid.", "InvalidSkipToken");
        var all = resources.OrderBy(r => r.Name, StringComparer.OrdinalIgnoreCase).ToList();
        var page = all.Skip(skip).Take(pageSize).Select(r => (JsonNode?)r.ToJson()).ToArray();
        var body = new JsonObject { ["value"] = new JsonArray(page) };
        if (skip + page.Length < all.Count)
        {
            var next = new Uri(baseUri, request.Path.TrimStart('/'));
            body["nextLink"] = $"{next.AbsoluteUri}?api-version={Uri.EscapeDataString(request.ApiVersion ?? "")}&$skiptoken={skip + page.Length}";
        }
        return ArmResponse.Ok(body);
    }
}
