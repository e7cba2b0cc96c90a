using Shellbox.Core.Model;
using Shellbox.Core.Ports;

namespace Shellbox.Core.Store;

/// <summary>Single-row conveniences over <see cref="IPoolStore.CommitAsync"/>.</summary>
public static class PoolStoreExtensions
{
    public static async Task<T> InsertAsync<T>(this IPoolStore store, T record, CancellationToken cancellationToken = default)
        where T : StoreRecord =>
        (T)(await store.CommitAsync([StoreWrite.Insert(record)], cancellationToken).ConfigureAwait(false))[0];

    public static async Task<T> ReplaceAsync<T>(this IPoolStore store, T record, CancellationToken cancellationToken = default)
        where T : StoreRecord =>
        (T)(await store.CommitAsync([StoreWrite.Replace(record)], cancellationToken).ConfigureAwait(false))[0];

    public static Task DeleteAsync(this IPoolStore store, StoreRecord record, CancellationToken cancellationToken = default) =>
        store.CommitAsync([StoreWrite.Delete(record)], cancellationToken);
}
