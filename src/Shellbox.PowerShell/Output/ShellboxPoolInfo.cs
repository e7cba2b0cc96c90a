using Shellbox.Core.Pools;

namespace Shellbox.PowerShell.Output;

/// <summary>One pool as Get-ShellboxPool shows it: counts by status and the configured bounds.</summary>
public sealed class ShellboxPoolInfo
{
    internal ShellboxPoolInfo(PoolStatus status, PoolDrift? drift, string configName, string provider)
    {
        Listed = drift?.Listed;
        Orphans = drift?.Orphans.Count;
        Ghosts = drift?.Ghosts.Count;
        OrphanIds = drift?.Orphans ?? [];
        GhostIds = drift?.Ghosts ?? [];
        Pool = status.Pool;
        Free = status.Free;
        ReadyPairs = status.ReadyPairs;
        InUse = status.InUse;
        Creating = status.Creating;
        Deleting = status.Deleting;
        Total = status.Total;
        MinFree = status.Bounds.MinFree;
        MaxFree = status.Bounds.MaxFree;
        MaxTotal = status.Bounds.MaxTotal;
        Config = configName;
        Provider = provider;
    }

    public string Pool { get; }

    /// <summary>How many the provider lists (Resource Graph on Azure); null when its inventory could not be read.</summary>
    public int? Listed { get; }

    /// <summary>Listed by the provider but not in the store (reconcile deletes them once they are old and unowned).</summary>
    public int? Orphans { get; }

    /// <summary>In the store but no longer listed by the provider (reconcile forgets them unless they hold a user's box).</summary>
    public int? Ghosts { get; }

    public IReadOnlyList<string> OrphanIds { get; }

    public IReadOnlyList<string> GhostIds { get; }

    public int Free { get; }

    /// <summary>Free instances with a free volume attached and its box resumed: a new box costs no provider call.</summary>
    public int ReadyPairs { get; }

    /// <summary>Connected instances, or attached/owned volumes.</summary>
    public int InUse { get; }

    public int Creating { get; }

    public int Deleting { get; }

    public int Total { get; }

    public int MinFree { get; }

    public int MaxFree { get; }

    public int MaxTotal { get; }

    public string Config { get; }

    public string Provider { get; }

    /// <summary>"min..max free, total cap" in one column for the table view.</summary>
    public string Bounds => $"{MinFree}..{MaxFree} of {MaxTotal}";
}
