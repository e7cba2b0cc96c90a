using System.Globalization;
using System.Text.Json;
using Shellbox.Core.Errors;
using Shellbox.Core.Model;
using Shellbox.Core.Ports;

namespace Shellbox.Azure.Arm;

/// <summary>
/// The seed's Resource Graph queries (seed 000, phase 3): resources by role, counts by status, the oldest
/// free ones by lastused. Each is one KQL query scoped to the provider's resource group.
/// </summary>
public sealed class ResourceGraphQueries
{
    private readonly ResourceGraph graph;
    private readonly string resourceGroup;

    internal ResourceGraphQueries(ResourceGraph graph, string resourceGroup)
    {
        this.graph = graph;
        this.resourceGroup = resourceGroup;
    }

    /// <summary>The ARM resource type that holds a role: VMs for instances, managed disks for volumes.</summary>
    public static string TypeOf(string role) => role switch
    {
        ResourceRoles.Instance => AzureResourceTypes.VirtualMachine,
        ResourceRoles.Volume => AzureResourceTypes.Disk,
        _ => throw ShellboxException.User("RoleUnknown", $"There is no resource role '{role}'; use {ResourceRoles.Instance} or {ResourceRoles.Volume}."),
    };

    /// <summary>Every resource of a role in the resource group, with its tags.</summary>
    public string ByRoleQuery(string role) =>
        $"Resources | where type =~ '{TypeOf(role)}' | where resourceGroup =~ '{Literal(resourceGroup)}' | where tags['{TagKeys.Role}'] =~ '{Literal(role)}' | project name, id, type, tags";

    /// <summary>Seed 000 "Count Resources", scoped to the resource group.</summary>
    public string CountByStatusQuery(string role) =>
        $"Resources | where type =~ '{TypeOf(role)}' | where resourceGroup =~ '{Literal(resourceGroup)}' | where tags['{TagKeys.Role}'] =~ '{Literal(role)}' | summarize count() by tostring(tags['{TagKeys.Status}'])";

    /// <summary>Seed 000 "Find Oldest Free Resources", scoped to the resource group.</summary>
    public string OldestFreeQuery(string role) =>
        $"Resources | where type =~ '{TypeOf(role)}' | where resourceGroup =~ '{Literal(resourceGroup)}' | where tags['{TagKeys.Role}'] =~ '{Literal(role)}' | where tags['{TagKeys.Status}'] =~ '{ResourceStatuses.Free}' | project name, id, lastused=todatetime(tags['{TagKeys.LastUsed}']) | order by lastused asc | take {ShellboxLimits.MaxQueryResults}";

    public async Task<IReadOnlyList<InventoryItem>> ListAsync(string role, CancellationToken cancellationToken = default)
    {
        var rows = await graph.QueryAsync(ByRoleQuery(role), cancellationToken).ConfigureAwait(false);
        return rows.Select(row => new InventoryItem(role, Text(row, "name") ?? string.Empty, Tags(row))).Where(i => i.Id.Length > 0).ToList();
    }

    /// <summary>How many resources of a role carry each status tag ("" for none).</summary>
    public async Task<IReadOnlyDictionary<string, int>> CountByStatusAsync(string role, CancellationToken cancellationToken = default)
    {
        var rows = await graph.QueryAsync(CountByStatusQuery(role), cancellationToken).ConfigureAwait(false);
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            // The status column's generated name differs between engines; it is the one that is not count_.
            string status = string.Empty;
            var count = 0;
            foreach (var column in row.EnumerateObject())
            {
                if (column.NameEquals("count_"))
                {
                    count = column.Value.ValueKind == JsonValueKind.Number ? column.Value.GetInt32() : int.Parse(column.Value.GetString() ?? "0", CultureInfo.InvariantCulture);
                }
                else
                {
                    status = column.Value.ValueKind == JsonValueKind.String ? column.Value.GetString() ?? string.Empty : string.Empty;
                }
            }

            counts[status] = counts.GetValueOrDefault(status) + count;
        }

        return counts;
    }

    /// <summary>The free resources of a role, least recently used first, at most <see cref="ShellboxLimits.MaxQueryResults"/>.</summary>
    public async Task<IReadOnlyList<FreeResource>> OldestFreeAsync(string role, CancellationToken cancellationToken = default)
    {
        var rows = await graph.QueryAsync(OldestFreeQuery(role), cancellationToken).ConfigureAwait(false);
        return rows.Select(row => new FreeResource(
            Text(row, "name") ?? string.Empty,
            Text(row, "id") ?? string.Empty,
            DateTimeOffset.TryParse(Text(row, "lastused"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : null)).ToList();
    }

    private static string? Text(JsonElement row, string name) =>
        row.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static Dictionary<string, string> Tags(JsonElement row)
    {
        var tags = new Dictionary<string, string>(StringComparer.Ordinal);
        if (row.TryGetProperty("tags", out var element) && element.ValueKind == JsonValueKind.Object)
        {
            foreach (var tag in element.EnumerateObject())
            {
                tags[tag.Name] = tag.Value.ValueKind == JsonValueKind.String ? tag.Value.GetString() ?? string.Empty : tag.Value.ToString();
            }
        }

        return tags;
    }

    /// <summary>A KQL string literal's content: a quote or backslash in a name must not end the literal.</summary>
    private static string Literal(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal);
}

/// <summary>A free resource from the oldest-free query; LastUsed is null when its tag does not parse.</summary>
public sealed record FreeResource(string Name, string Id, DateTimeOffset? LastUsed);
