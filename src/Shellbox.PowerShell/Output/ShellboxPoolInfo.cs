using Shellbox.Core.Pools;

namespace Shellbox.PowerShell.Output;

/// <summary>One pool as Get-ShellboxPool shows it: counts by status and the configured bounds.</summary>
public sealed class ShellboxPoolInfo
{
    internal ShellboxPoolInfo(PoolStatus status, string configName, string provider)
    {
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
