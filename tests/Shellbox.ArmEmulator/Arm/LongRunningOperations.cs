using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;

namespace Shellbox.ArmEmulator.Arm;

/// <summary>One asynchronous ARM operation, polled through Azure-AsyncOperation (status) and Location
/// (result) URLs (azure-resource-manager-rpc: async-api-reference.md).</summary>
internal sealed class LongRunningOperation(string id, string kind, DateTimeOffset start, DateTimeOffset due)
{
    public string Id { get; } = id;
    public string Kind { get; } = kind;
    public DateTimeOffset Start { get; } = start;
    public DateTimeOffset Due { get; } = due;
    private volatile string _status = "InProgress";

    /// <summary>InProgress, Succeeded or Failed; read by polls while the operation's task writes it.</summary>
    public string Status => _status;
    public DateTimeOffset? End { get; private set; }
    public ArmException? Error { get; private set; }
    public JsonNode? Result { get; private set; }

    private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the operation has succeeded or failed.</summary>
    public Task Finished => _finished.Task;

    public void Succeed(JsonNode? result, DateTimeOffset at)
    {
        Result = result;
        End = at;
        _status = "Succeeded";
        _finished.TrySetResult();
    }

    public void Fail(ArmException error, DateTimeOffset at)
    {
        Error = error;
        End = at;
        _status = "Failed";
        _finished.TrySetResult();
    }

    /// <summary>The Azure-AsyncOperation status body.</summary>
    public JsonObject StatusJson()
    {
        var json = new JsonObject
        {
            ["name"] = Id,
            ["status"] = Status,
            ["startTime"] = Start.ToString("o", CultureInfo.InvariantCulture),
        };
        if (End is { } end) json["endTime"] = end.ToString("o", CultureInfo.InvariantCulture);
        if (Error is not null) json["error"] = Error.ToBody()["error"]!.DeepClone();
        return json;
    }
}

/// <summary>Runs operations in the background: each completes after its latency by calling its completion,
/// which applies the final state (and calls the VM host) or fails with an ARM error.</summary>
internal sealed class LongRunningOperations(Uri baseUri, string subscriptionId, string location, TimeProvider clock)
{
    private readonly ConcurrentDictionary<string, LongRunningOperation> _operations = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<Task, byte> _running = new();
    private readonly CancellationTokenSource _stopping = new();

    public LongRunningOperation Start(string kind, TimeSpan latency, Func<CancellationToken, Task<JsonNode?>> complete)
    {
        var now = clock.GetUtcNow();
        var operation = new LongRunningOperation(Guid.NewGuid().ToString(), kind, now, now + latency);
        _operations[operation.Id] = operation;
        var task = Task.Run(() => RunAsync(operation, latency, complete));
        _running[task] = 0;
        _ = task.ContinueWith(t => _running.TryRemove(t, out _), TaskScheduler.Default);
        return operation;
    }

    public LongRunningOperation? Find(string id) => _operations.GetValueOrDefault(id);

    /// <summary>Azure-AsyncOperation: the status URL.</summary>
    public string StatusUrl(LongRunningOperation operation, string providerNamespace, string? apiVersion) =>
        new Uri(baseUri, $"subscriptions/{subscriptionId}/providers/{providerNamespace}/locations/{location}/operations/{operation.Id}?api-version={apiVersion ?? "2023-07-01"}").AbsoluteUri;

    /// <summary>Location: the result URL (202 while running, then the result).</summary>
    public string ResultUrl(LongRunningOperation operation, string providerNamespace, string? apiVersion) =>
        new Uri(baseUri, $"subscriptions/{subscriptionId}/providers/{providerNamespace}/locations/{location}/operations/{operation.Id}?monitor=true&api-version={apiVersion ?? "2023-07-01"}").AbsoluteUri;

    /// <summary>Tells the client when to poll: Retry-After in whole seconds (at least 1, as ARM sends it) and
    /// retry-after-ms with the exact time left, which Azure.Core prefers; with seed-scaled latencies (a few hundred
    /// ms) whole seconds alone would make every operation look like a second or more to a client polling faster.</summary>
    public ArmResponse WithRetryAfter(ArmResponse response, LongRunningOperation operation)
    {
        var remaining = operation.Due - clock.GetUtcNow();
        if (remaining < TimeSpan.Zero) remaining = TimeSpan.Zero;
        response.WithHeader("Retry-After", Math.Max(1, (int)Math.Ceiling(remaining.TotalSeconds)).ToString(CultureInfo.InvariantCulture));
        return response.WithHeader("retry-after-ms", ((int)Math.Ceiling(remaining.TotalMilliseconds)).ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>Adds Azure-AsyncOperation, Location and Retry-After to an accepted write.</summary>
    public ArmResponse Accepted(ArmResponse response, LongRunningOperation operation, string providerNamespace, string? apiVersion, bool withLocation)
    {
        response.WithHeader("Azure-AsyncOperation", StatusUrl(operation, providerNamespace, apiVersion));
        if (withLocation) response.WithHeader("Location", ResultUrl(operation, providerNamespace, apiVersion));
        return WithRetryAfter(response, operation);
    }

    public async Task StopAsync()
    {
        _stopping.Cancel();
        try
        {
            await Task.WhenAll(_running.Keys).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (Exception) when (_stopping.IsCancellationRequested)
        {
            // Operations cut short by shutdown end as they end; nothing waits for them any more.
        }
    }

    private async Task RunAsync(LongRunningOperation operation, TimeSpan latency, Func<CancellationToken, Task<JsonNode?>> complete)
    {
        try
        {
            if (latency > TimeSpan.Zero) await Task.Delay(latency, clock, _stopping.Token).ConfigureAwait(false);
            var result = await complete(_stopping.Token).ConfigureAwait(false);
            operation.Succeed(result, clock.GetUtcNow());
        }
        catch (ArmException error)
        {
            operation.Fail(error, clock.GetUtcNow());
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            operation.Fail(new ArmException(500, "OperationCanceled", "The emulator stopped before the operation completed."), clock.GetUtcNow());
        }
        catch (Exception error)
        {
            operation.Fail(new ArmException(500, "InternalServerError", $"The operation failed: {error.Message}"), clock.GetUtcNow());
        }
    }
}
