using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Shellbox.ArmEmulator.Arm;

namespace Shellbox.ArmEmulator.Hosting;

/// <summary>Answers every https request: bearer check, injected faults, the route, its latency, the ARM
/// error envelope on failure, and one RequestLog entry.</summary>
internal sealed class ArmDispatcher(
    IReadOnlyList<ArmRoute> routes,
    ManagedIdentityEndpoint identity,
    FaultInjector faults,
    EmulatorLatency latency,
    RequestLog log,
    TimeProvider clock)
{
    // ARM answers carry tag keys like 'shellbox:role' verbatim, not \u0027-escaped.
    private static readonly JsonSerializerOptions Compact = new() { WriteIndented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public async Task HandleArmAsync(HttpContext http)
    {
        var started = Stopwatch.GetTimestamp();
        var at = clock.GetUtcNow();
        var method = http.Request.Method.ToUpperInvariant();
        var path = http.Request.Path.Value ?? "/";
        var apiVersion = http.Request.Query["api-version"].FirstOrDefault();
        var injected = false;
        ArmResponse response;
        try
        {
            response = await AnswerAsync(http, method, path, apiVersion, fault => injected = fault).ConfigureAwait(false);
        }
        catch (ArmException error)
        {
            response = new ArmResponse(error.Status, error.ToBody());
        }
        catch (Exception error) when (error is InvalidOperationException or FormatException && error.StackTrace?.Contains("System.Text.Json") == true)
        {
            // A body property of the wrong JSON type (a lun as a string, tags as an array): ARM calls that invalid content.
            response = new ArmResponse(400, ArmException.Envelope("InvalidRequestContent", $"The request content was invalid and could not be deserialized: {error.Message}"));
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            response = new ArmResponse(500, ArmException.Envelope("InternalServerError", $"The emulator failed: {error.GetType().Name}: {error.Message}"));
        }
        await WriteAsync(http, response).ConfigureAwait(false);
        log.Add(new RequestLogEntry(at, method, path, apiVersion, response.Status, Stopwatch.GetElapsedTime(started), injected));
    }

    public async Task HandleIdentityAsync(HttpContext http)
    {
        var started = Stopwatch.GetTimestamp();
        var at = clock.GetUtcNow();
        var (status, body) = identity.Handle(http.Request);
        await WriteAsync(http, new ArmResponse(status, body)).ConfigureAwait(false);
        log.Add(new RequestLogEntry(at, http.Request.Method.ToUpperInvariant(), http.Request.Path.Value ?? "/",
            http.Request.Query["api-version"].FirstOrDefault(), status, Stopwatch.GetElapsedTime(started), false));
    }

    private async Task<ArmResponse> AnswerAsync(HttpContext http, string method, string path, string? apiVersion, Action<bool> markInjected)
    {
        var authorization = http.Request.Headers.Authorization.ToString();
        if (!authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            throw new ArmException(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.");
        if (!identity.IsValid(authorization["Bearer ".Length..].Trim()))
            throw new ArmException(401, "InvalidAuthenticationToken", "The access token is invalid: it was not issued by this emulator's managed identity endpoint, or it expired.");

        if (faults.TakeMatch(method, path) is { } fault)
        {
            markInjected(true);
            var injected = new ArmResponse(fault.Status, ArmException.Envelope(fault.Code, $"Injected fault {fault.Status} for {method} {path}."));
            if (fault.RetryAfter is { } retryAfter)
                injected.WithHeader("Retry-After", Math.Max(0, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture));
            return injected;
        }

        var matched = false;
        foreach (var route in routes)
        {
            var match = route.Pattern.Match(path);
            if (!match.Success) continue;
            matched = true;
            if (route.Method != method) continue;
            if (string.IsNullOrEmpty(apiVersion))
                throw ArmException.BadRequest("The api-version query parameter (?api-version=) is required for all requests.", "MissingApiVersionParameter");
            var request = new ArmRequest(method, path, match, ReadQuery(http.Request.Query), await ReadBodyAsync(http.Request).ConfigureAwait(false));
            if (route.ResponseDelay is { } kind && latency.Next(kind) is var delay && delay > TimeSpan.Zero)
                await Task.Delay(delay, clock, http.RequestAborted).ConfigureAwait(false);
            return await route.Handler(request).ConfigureAwait(false);
        }
        if (matched) throw new ArmException(405, "MethodNotAllowed", $"The method '{method}' is not allowed on '{path}'.");
        throw new ArmException(404, "NoRegisteredProviderFound", $"The emulator does not model '{method} {path}'.");
    }

    private static Dictionary<string, string> ReadQuery(IQueryCollection query) =>
        query.ToDictionary(q => q.Key, q => q.Value.ToString(), StringComparer.OrdinalIgnoreCase);

    private static async Task<JsonNode?> ReadBodyAsync(HttpRequest request)
    {
        using var reader = new StreamReader(request.Body);
        var text = await reader.ReadToEndAsync(request.HttpContext.RequestAborted).ConfigureAwait(false);
        if (string.IsNullOrWhiteSpace(text)) return null;
        try
        {
            return JsonNode.Parse(text);
        }
        catch (JsonException error)
        {
            throw ArmException.BadRequest($"The request content was invalid and could not be deserialized: {error.Message}", "InvalidRequestContent");
        }
    }

    private static async Task WriteAsync(HttpContext http, ArmResponse response)
    {
        http.Response.StatusCode = response.Status;
        http.Response.Headers["x-ms-request-id"] = Guid.NewGuid().ToString();
        http.Response.Headers["x-ms-correlation-request-id"] = http.Request.Headers["x-ms-correlation-request-id"].FirstOrDefault() ?? Guid.NewGuid().ToString();
        foreach (var (name, value) in response.Headers) http.Response.Headers[name] = value;
        if (response.Body is not null)
        {
            http.Response.ContentType = "application/json; charset=utf-8";
            await http.Response.WriteAsync(response.Body.ToJsonString(Compact), http.RequestAborted).ConfigureAwait(false);
        }
        else
        {
            http.Response.ContentLength = 0;
        }
    }
}
