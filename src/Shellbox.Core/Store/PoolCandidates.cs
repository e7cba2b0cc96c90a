using System.Runtime.CompilerServices;
using Shellbox.Core.Model;
using Shellbox.Core.Ports;

namespace Shellbox.Core.Store;

/// <summary>
/// What claims try, read through the store's candidate index and point reads: a bounded number of rows
/// whatever the number of boxes. Lazy, so a claim that wins its first candidate reads no further rows.
/// </summary>
public static class PoolCandidates
{
    /// <summary>Ready pairs, oldest-used instance first: one index query, then a point read of each pair's volume.</summary>
    public static async IAsyncEnumerable<ReadyPair> ReadyPairsAsync(IPoolStore store, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var instances = await store.FindCandidatesAsync<InstanceRecord>(Candidates.ReadyPairInstances, ShellboxLimits.MaxQueryResults, cancellationToken).ConfigureAwait(false);
        foreach (var instance in instances)
        {
            var volume = await store.GetAsync<VolumeRecord>(instance.VolumeId!, cancellationToken).ConfigureAwait(false);
            if (ReadyPair.IsPair(instance, volume))
            {
                yield return new ReadyPair(instance, volume!);
            }
        }
    }

    /// <summary>Free instances with nothing attached, oldest-used first.</summary>
    public static async IAsyncEnumerable<InstanceRecord> BareInstancesAsync(IPoolStore store, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var instance in await store.FindCandidatesAsync<InstanceRecord>(Candidates.BareFreeInstances, ShellboxLimits.MaxQueryResults, cancellationToken).ConfigureAwait(false))
        {
            yield return instance;
        }
    }

    /// <summary>Free golden clones attached nowhere, oldest-used first.</summary>
    public static async IAsyncEnumerable<VolumeRecord> LooseVolumesAsync(IPoolStore store, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var volume in await store.FindCandidatesAsync<VolumeRecord>(Candidates.LooseFreeVolumes, ShellboxLimits.MaxQueryResults, cancellationToken).ConfigureAwait(false))
        {
            yield return volume;
        }
    }

    /// <summary>A bare instance and a loose volume to pair on the spot, each oldest-used first.</summary>
    public static async IAsyncEnumerable<(InstanceRecord Instance, VolumeRecord Volume)> LoosePairsAsync(IPoolStore store, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var instances = await store.FindCandidatesAsync<InstanceRecord>(Candidates.BareFreeInstances, ShellboxLimits.MaxQueryResults, cancellationToken).ConfigureAwait(false);
        if (instances.Count == 0)
        {
            yield break;
        }

        var volumes = await store.FindCandidatesAsync<VolumeRecord>(Candidates.LooseFreeVolumes, ShellboxLimits.MaxQueryResults, cancellationToken).ConfigureAwait(false);
        foreach (var instance in instances)
        {
            foreach (var volume in volumes)
            {
                yield return (instance, volume);
            }
        }
    }
}
