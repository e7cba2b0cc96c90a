using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Shellbox.ArmEmulator.Graph;

/// <summary>Runs a <see cref="KqlQuery"/> over Resources rows (JSON objects). Comparisons follow Kusto:
/// =~ and !~ ignore case, == and != do not; a missing value compares as "".</summary>
internal static class KqlEvaluator
{
    /// <summary>The columns of Resource Graph's Resources table.</summary>
    public static readonly IReadOnlyList<string> ResourcesColumns =
        ["id", "name", "type", "tenantId", "kind", "location", "resourceGroup", "subscriptionId", "managedBy", "sku", "plan", "properties", "tags", "identity", "zones", "extendedLocation"];

    public static List<JsonObject> Run(KqlQuery query, IEnumerable<JsonObject> resources)
    {
        var rows = resources.ToList();
        var schema = ResourcesColumns.ToHashSet(StringComparer.Ordinal);
        // Columns whose values came from todatetime(): ordered as datetimes, not strings.
        var datetimeColumns = new HashSet<string>(StringComparer.Ordinal);
        foreach (var stage in query.Stages)
        {
            switch (stage)
            {
                case WhereStage where:
                    foreach (var condition in where.Conditions) RequireColumns(condition.Left, schema);
                    rows = rows.Where(row => where.Conditions.All(c => Matches(c, row))).ToList();
                    break;
                case ProjectStage project:
                    foreach (var column in project.Columns) RequireColumns(column.Expr, schema);
                    rows = rows.Select(row => Project(project.Columns, row)).ToList();
                    schema = project.Columns.Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
                    datetimeColumns = project.Columns.Where(c => IsDatetime(c.Expr, datetimeColumns)).Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
                    break;
                case OrderStage order:
                    RequireColumns(order.Key, schema);
                    rows = Order(rows, order, IsDatetime(order.Key, datetimeColumns));
                    break;
                case TakeStage take:
                    rows = rows.Take(take.Count).ToList();
                    break;
                case SummarizeStage summarize:
                    if (summarize.By is { } by) RequireColumns(by.Expr, schema);
                    rows = Summarize(summarize, rows);
                    schema = new[] { summarize.By?.Name, summarize.CountColumn }.OfType<string>().ToHashSet(StringComparer.Ordinal);
                    datetimeColumns.Clear();
                    break;
            }
        }
        return rows;
    }

    private static bool Matches(KqlComparison comparison, JsonObject row)
    {
        var value = AsString(Evaluate(comparison.Left, row));
        return comparison.Operator switch
        {
            "=~" => string.Equals(value, comparison.Literal, StringComparison.OrdinalIgnoreCase),
            "!~" => !string.Equals(value, comparison.Literal, StringComparison.OrdinalIgnoreCase),
            "==" => string.Equals(value, comparison.Literal, StringComparison.Ordinal),
            "!=" => !string.Equals(value, comparison.Literal, StringComparison.Ordinal),
            _ => throw new KqlException($"Query is invalid: operator '{comparison.Operator}' is not supported."),
        };
    }

    private static JsonObject Project(IReadOnlyList<KqlColumn> columns, JsonObject row)
    {
        var projected = new JsonObject();
        foreach (var column in columns) projected[column.Name] = Evaluate(column.Expr, row)?.DeepClone();
        return projected;
    }

    private static List<JsonObject> Order(List<JsonObject> rows, OrderStage order, bool asDatetime)
    {
        var keyed = rows.Select(row => (Row: row, Key: Evaluate(order.Key, row))).ToList();
        int Compare((JsonObject Row, JsonNode? Key) a, (JsonObject Row, JsonNode? Key) b)
        {
            var aNull = IsNull(a.Key);
            var bNull = IsNull(b.Key);
            // Kusto puts nulls first when ascending and last when descending.
            if (aNull || bNull) return aNull == bNull ? 0 : aNull ? -1 : 1;
            if (asDatetime)
                return DateTimeOffset.Parse(AsString(a.Key), CultureInfo.InvariantCulture).CompareTo(DateTimeOffset.Parse(AsString(b.Key), CultureInfo.InvariantCulture));
            if (a.Key!.GetValueKind() == JsonValueKind.Number && b.Key!.GetValueKind() == JsonValueKind.Number)
                return a.Key.GetValue<double>().CompareTo(b.Key.GetValue<double>());
            return string.CompareOrdinal(AsString(a.Key), AsString(b.Key));
        }
        var sorted = order.Descending
            ? keyed.OrderBy(k => k, Comparer<(JsonObject, JsonNode?)>.Create((a, b) => -Compare(a, b)))
            : keyed.OrderBy(k => k, Comparer<(JsonObject, JsonNode?)>.Create(Compare));
        return sorted.Select(k => k.Row).ToList();
    }

    private static List<JsonObject> Summarize(SummarizeStage summarize, List<JsonObject> rows)
    {
        if (summarize.By is null) return [new JsonObject { [summarize.CountColumn] = rows.Count }];
        var groups = new List<(JsonNode? Key, int Count)>();
        foreach (var row in rows)
        {
            var key = Evaluate(summarize.By.Expr, row);
            var index = groups.FindIndex(g => JsonNode.DeepEquals(g.Key, key) || (IsNull(g.Key) && IsNull(key)));
            if (index < 0) groups.Add((key?.DeepClone(), 1));
            else groups[index] = (groups[index].Key, groups[index].Count + 1);
        }
        return groups.Select(g => new JsonObject { [summarize.By.Name] = g.Key?.DeepClone(), [summarize.CountColumn] = g.Count }).ToList();
    }

    private static JsonNode? Evaluate(KqlExpr expr, JsonObject row) => expr switch
    {
        ColumnExpr column => row.TryGetPropertyValue(column.Name, out var value) ? value : null,
        MemberExpr member => Evaluate(member.Target, row) is JsonObject bag && bag.TryGetPropertyValue(member.Key, out var value) ? value : null,
        CallExpr call => Call(call.Function, Evaluate(call.Argument, row)),
        _ => null,
    };

    private static JsonNode? Call(string function, JsonNode? argument) => function switch
    {
        "tostring" => JsonValue.Create(AsString(argument)),
        "tolower" => JsonValue.Create(AsString(argument).ToLowerInvariant()),
        "toupper" => JsonValue.Create(AsString(argument).ToUpperInvariant()),
        // Resource Graph serializes datetimes as ISO 8601 UTC; an unparsable value is null.
        "todatetime" => DateTimeOffset.TryParse(AsString(argument), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
            ? JsonValue.Create(at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture))
            : null,
        _ => throw new KqlException($"Query is invalid: function '{function}' is not supported."),
    };

    private static bool IsDatetime(KqlExpr expr, HashSet<string> datetimeColumns) => expr switch
    {
        CallExpr { Function: "todatetime" } => true,
        ColumnExpr column => datetimeColumns.Contains(column.Name),
        _ => false,
    };

    /// <summary>A column that no row has is an error in Kusto ("Failed to resolve scalar expression").</summary>
    private static void RequireColumns(KqlExpr expr, HashSet<string> schema)
    {
        switch (expr)
        {
            case ColumnExpr column when !schema.Contains(column.Name):
                throw new KqlException($"Query is invalid: failed to resolve scalar expression named '{column.Name}'.");
            case MemberExpr member:
                RequireColumns(member.Target, schema);
                break;
            case CallExpr call:
                RequireColumns(call.Argument, schema);
                break;
        }
    }

    private static bool IsNull(JsonNode? value) => value is null || (value.GetValueKind() == JsonValueKind.String && value.GetValue<string>().Length == 0);

    private static string AsString(JsonNode? value) => value switch
    {
        null => "",
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        _ => value.ToJsonString(),
    };
}
