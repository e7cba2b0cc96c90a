using Shellbox.Core.Errors;

namespace Shellbox.Core.Store;

/// <summary>Re-runs a read-modify-write that lost a race, a bounded number of times.</summary>
public static class ConflictRetry
{
    public static async Task<T> RunAsync<T>(Func<Task<T>> readModifyWrite, CancellationToken cancellationToken, int attempts = 20)
    {
        for (var attempt = 1; ; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                return await readModifyWrite().ConfigureAwait(false);
            }
            catch (StoreConflictException) when (attempt < attempts)
            {
                // Short random pause: the other writer is usually done within milliseconds.
                await Task.Delay(Random.Shared.Next(5, 20 * attempt), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public static Task RunAsync(Func<Task> readModifyWrite, CancellationToken cancellationToken, int attempts = 20) =>
        RunAsync(async () =>
        {
            await readModifyWrite().ConfigureAwait(false);
            return true;
        }, cancellationToken, attempts);
}
