using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Shellbox.ArmEmulator.Arm;

/// <summary>A parsed ARM request: the route's captures, the query, the JSON body.</summary>
internal sealed class ArmRequest(string method, string path, Match route, IReadOnlyDictionary<string, string> query, JsonNode? body)
{
    public string Method { get; } = method;
    public string Path { get; } = path;
    public IReadOnlyDictionary<string, string> Query { get; } = query;
    public JsonNode? Body { get; } = body;

    public string this[string group] => Uri.UnescapeDataString(route.Groups[group].Value);

    public string? ApiVersion => Query.GetValueOrDefault("api-version");

    public JsonObject RequireBody() =>
        Body as JsonObject ?? throw ArmException.BadRequest("The request content was invalid and could not be deserialized: a JSON object is required.", "InvalidRequestContent");
}

/// <summary>An ARM answer: status, optional JSON body, extra headers (Location, Azure-AsyncOperation, Retry-After).</summary>
internal sealed class ArmResponse(int status, JsonNode? body = null)
{
    public int Status { get; } = status;
    public JsonNode? Body { get; } = body;
    public Dictionary<string, string> Headers { get; } = new(StringComparer.OrdinalIgnoreCase);

    public static ArmResponse Ok(JsonNode? body) => new(200, body);

    public ArmResponse WithHeader(string name, string value)
    {
        Headers[name] = value;
        return this;
    }
}

/// <summary>A route: method + path regex (named groups) -> handler. ARM paths are case-insensitive.
/// <see cref="ResponseDelay"/> is the latency kind that delays a synchronous answer; long-running writes
/// answer at once and take their latency in the operation instead (null).</summary>
internal sealed record ArmRoute(string Method, Regex Pattern, string? ResponseDelay, Func<ArmRequest, Task<ArmResponse>> Handler)
{
    public static ArmRoute Create(string method, string pattern, string? responseDelay, Func<ArmRequest, Task<ArmResponse>> handler) =>
        new(method, new Regex("^" + pattern + "/?$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant), responseDelay, handler);

    public static ArmRoute Create(string method, string pattern, string? responseDelay, Func<ArmRequest, ArmResponse> handler) =>
        Create(method, pattern, responseDelay, request => Task.FromResult(handler(request)));
}

/// <summary>Path fragments shared by routes.</summary>
internal static class RoutePatterns
{
    public const string Name = @"[^/]+";
    public const string ResourceGroup = @"/subscriptions/(?<sub>[^/]+)/resourceGroups/(?<rg>[^/]+)";
    public const string ComputeProvider = ResourceGroup + "/providers/Microsoft.Compute";
    public const string NetworkProvider = ResourceGroup + "/providers/Microsoft.Network";
}
