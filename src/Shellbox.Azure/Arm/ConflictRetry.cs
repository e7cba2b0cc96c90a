using Azure;
using Polly;
using Polly.Retry;

namespace Shellbox.Azure.Arm;

/// <summary>
/// Retries an ARM write that Azure refused with a transient 409 (another operation on the VM or disk is
/// in flight). The SDK pipeline retries 429 and 5xx itself, honouring Retry-After, but never a 409: the
/// caller has to wait for the other operation. Exponential back-off with jitter, on the injected clock.
/// </summary>
internal sealed class ConflictRetry
{
    /// <summary>Azure's codes for "try again once the other operation ends"; other 409s are final answers.</summary>
    private static readonly HashSet<string> TransientCodes = new(StringComparer.OrdinalIgnoreCase)
    {
        "AnotherOperationInProgress",
        "OperationPreempted",
        "RetryableError",
        "Conflict",
    };

    private readonly ResiliencePipeline pipeline;

    public ConflictRetry(AzureProviderOptions options, TimeProvider time)
    {
        pipeline = new ResiliencePipelineBuilder { TimeProvider = time }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<RequestFailedException>(IsTransientConflict),
                MaxRetryAttempts = Math.Max(1, options.ConflictRetries),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.ConflictRetryDelay,
                MaxDelay = TimeSpan.FromSeconds(30),
            })
            .Build();
    }

    public static bool IsTransientConflict(RequestFailedException e) =>
        e.Status == 409 && (string.IsNullOrEmpty(e.ErrorCode) || TransientCodes.Contains(e.ErrorCode));

    public async Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> write, CancellationToken cancellationToken) =>
        await pipeline.ExecuteAsync(async token => await write(token).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);

    public async Task RunAsync(Func<CancellationToken, Task> write, CancellationToken cancellationToken) =>
        await pipeline.ExecuteAsync(async token => await write(token).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
}
