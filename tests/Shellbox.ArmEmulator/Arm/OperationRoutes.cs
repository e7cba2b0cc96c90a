
namespace Shellbox.ArmEmulator.Arm;

/// <summary>The polling URLs of long-running operations (azure-resource-manager-rpc: async-api-reference.md):
/// the Azure-AsyncOperation URL answers {status: InProgress|Succeeded|Failed}; the Location URL (monitor=true)
/// answers 202 while running, then the operation's result (200) or its error.</summary>
internal sealed class OperationRoutes(EmulatorContext context)
{
    public IEnumerable<ArmRoute> Routes()
    {
        yield return ArmRoute.Create("GET", "/subscriptions/(?<sub>[^/]+)/providers/(?<ns>[^/]+)/locations/(?<loc>[^/]+)/operations/(?<id>[^/]+)",
            EmulatorLatency.Get, Poll);
    }

    private async Task<ArmResponse> Poll(ArmRequest request)
    {
        context.RequireScope(request);
        var operation = context.Operations.Find(request["id"])
            ?? throw ArmException.NotFound($"The operation '{request["id"]}' was not found.", "OperationNotFound");
        // An operation past its latency is only finishing its completion (a VM host call, a copy): answer with its
        // outcome rather than InProgress, so a client polling on time does not wait a whole extra polling interval.
        if (operation.Status == "InProgress" && operation.Due <= context.Clock.GetUtcNow())
            await Task.WhenAny(operation.Finished, Task.Delay(TimeSpan.FromSeconds(5), context.Clock)).ConfigureAwait(false);
        var monitor = request.Query.TryGetValue("monitor", out var flag) && string.Equals(flag, "true", StringComparison.OrdinalIgnoreCase);
        if (!monitor)
        {
            var status = ArmResponse.Ok(operation.StatusJson());
            return operation.Status == "InProgress" ? context.Operations.WithRetryAfter(status, operation) : status;
        }
        return operation.Status switch
        {
            "InProgress" => context.Operations.WithRetryAfter(
                new ArmResponse(202).WithHeader("Location", context.Operations.ResultUrl(operation, request["ns"], request.ApiVersion)), operation),
            "Succeeded" => operation.Result is null ? new ArmResponse(200) : ArmResponse.Ok(operation.Result.DeepClone()),
            _ => new ArmResponse(operation.Error!.Status, operation.Error.ToBody()),
        };
    }
}
