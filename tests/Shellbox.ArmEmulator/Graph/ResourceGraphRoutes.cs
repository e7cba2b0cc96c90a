using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Shellbox.ArmEmulator.Arm;
using Shellbox.ArmEmulator.Model;

namespace Shellbox.ArmEmulator.Graph;

/// <summary>POST /providers/Microsoft.ResourceGraph/resources (resourcegraph spec: stable/2021-03-01 and 2022-10-01,
/// Resources: QueryRequest -> QueryResponse {totalRecords, count, resultTruncated, $skipToken, data}). Answers from
/// the history as of now - lag, like the real index trailing ARM; a $skipToken pins that moment for later pages.</summary>
internal sealed class ResourceGraphRoutes(EmulatorContext context)
{
    private const int DefaultTop = 100;
    private const int MaxTop = 1000;

    public IEnumerable<ArmRoute> Routes()
    {
        yield return ArmRoute.Create("POST", "/providers/Microsoft.ResourceGraph/resources", EmulatorLatency.GraphQuery, Query);
    }

    private ArmResponse Query(ArmRequest request)
    {
        var body = request.RequireBody();
        var text = body["query"]?.GetValue<string>();
        if (string.IsNullOrWhiteSpace(text)) throw ArmException.BadRequest("The request has no 'query'.", "BadRequest");
        var options = body["options"] as JsonObject ?? new JsonObject();
        var format = options["resultFormat"]?.GetValue<string>() ?? "objectArray";
        if (!string.Equals(format, "objectArray", StringComparison.OrdinalIgnoreCase))
            throw ArmException.BadRequest($"resultFormat '{format}' is not modelled by the emulator; use objectArray.", "BadRequest");
        var top = options["$top"]?.GetValue<int>() ?? DefaultTop;
        if (top is < 1 or > MaxTop) throw ArmException.BadRequest($"$top must be between 1 and {MaxTop}.", "BadRequest");
        var offset = options["$skip"]?.GetValue<int>() ?? 0;
        var asOf = context.Clock.GetUtcNow() - context.History.Lag;
        if (options["$skipToken"]?.GetValue<string>() is { Length: > 0 } token) (offset, asOf) = ReadToken(token);

        KqlQuery query;
        try
        {
            query = KqlParser.Parse(text);
        }
        catch (KqlException error)
        {
            throw ArmException.BadRequest(error.Message, "BadRequest");
        }
        var subscriptions = (body["subscriptions"] as JsonArray)?.Select(s => s?.GetValue<string>()).OfType<string>().ToHashSet(StringComparer.OrdinalIgnoreCase);
        var rows = context.History.RowsAsOf(asOf)
            .Where(r => subscriptions is null || subscriptions.Count == 0 || subscriptions.Contains(r["subscriptionId"]!.GetValue<string>()));
        List<JsonObject> result;
        try
        {
            result = KqlEvaluator.Run(query, rows);
        }
        catch (KqlException error)
        {
            throw ArmException.BadRequest(error.Message, "BadRequest");
        }

        var page = result.Skip(offset).Take(top).ToList();
        var response = new JsonObject
        {
            ["totalRecords"] = result.Count,
            ["count"] = page.Count,
            ["resultTruncated"] = "false",
        };
        if (offset + page.Count < result.Count) response["$skipToken"] = WriteToken(offset + page.Count, asOf);
        response["data"] = new JsonArray(page.Select(r => (JsonNode?)r).ToArray());
        response["facets"] = new JsonArray();
        return ArmResponse.Ok(response);
    }

    private static string WriteToken(int offset, DateTimeOffset asOf) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{offset}|{asOf.UtcTicks}")));

    private static (int Offset, DateTimeOffset AsOf) ReadToken(string token)
    {
        try
        {
            var parts = Encoding.UTF8.GetString(Convert.FromBase64String(token)).Split('|');
            return (int.Parse(parts[0], CultureInfo.InvariantCulture), new DateTimeOffset(long.Parse(parts[1], CultureInfo.InvariantCulture), TimeSpan.Zero));
        }
        catch (Exception error) when (error is FormatException or IndexOutOfRangeException or OverflowException)
        {
            throw ArmException.BadRequest("The $skipToken is invalid.", "BadRequest");
        }
    }
}
