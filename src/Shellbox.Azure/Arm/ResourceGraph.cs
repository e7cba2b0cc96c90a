using System.Text.Json;
using Azure.Core;

namespace Shellbox.Azure.Arm;

/// <summary>
/// Resource Graph through the ARM pipeline: POST /providers/Microsoft.ResourceGraph/resources, paged by
/// $skipToken. The inventory only: reconcile and operators read it, no connect ever does (it lags).
/// </summary>
internal sealed class ResourceGraph(ArmRest rest, string subscriptionId, int pageSize = 1000)
{
    public const string ApiVersion = "2021-03-01";
    private const string Path = "/providers/Microsoft.ResourceGraph/resources";

    /// <summary>Every row of the query's result, each a JSON object (objectArray format), across all pages.</summary>
    public async Task<IReadOnlyList<JsonElement>> QueryAsync(string kql, CancellationToken cancellationToken)
    {
        var rows = new List<JsonElement>();
        string? skipToken = null;
        do
        {
            var options = new Dictionary<string, object> { ["resultFormat"] = "objectArray", ["$top"] = pageSize };
            if (skipToken is not null)
            {
                options["$skipToken"] = skipToken;
            }

            var body = new Dictionary<string, object> { ["subscriptions"] = new[] { subscriptionId }, ["query"] = kql, ["options"] = options };
            using var page = await rest.SendAsync(RequestMethod.Post, Path, ApiVersion, body, cancellationToken).ConfigureAwait(false);
            if (page.RootElement.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Array)
            {
                rows.AddRange(data.EnumerateArray().Select(row => row.Clone()));
            }

            skipToken = page.RootElement.TryGetProperty("$skipToken", out var token) && token.ValueKind == JsonValueKind.String && token.GetString() is { Length: > 0 } next
                ? next
                : null;
        }
        while (skipToken is not null);

        return rows;
    }
}
