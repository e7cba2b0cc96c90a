using Shellbox.Core.Boxes;

namespace Shellbox.PowerShell.Output;

/// <summary>A box: who owns it, its state (running, lingering, suspended) and where it lives.</summary>
public sealed class ShellboxBoxInfo
{
    internal ShellboxBoxInfo(BoxView view, BoxDetails? details = null)
    {
        Keepalive = view.Box.Keepalive is { } keepalive ? KeepaliveDuration.Format(keepalive) : KeepaliveDuration.Off;
        KeptAliveUntil = view.Box is { InstanceId: not null, KeptAliveUntil: { } until } && view.Sessions == 0 && view.State == BoxCatalog.Running ? until : null;
        UserId = view.Box.UserId;
        Name = view.Box.BoxName;
        State = view.State;
        Sessions = view.Sessions;
        VolumeId = view.Box.VolumeId;
        InstanceId = view.InstanceId;
        Created = view.Box.Created;
        LastConnected = view.Box.LastConnected;
        LastUsed = details?.LastUsed ?? view.Box.LastConnected ?? view.Box.Created;
        DiskUsedBytes = details?.DiskUsedBytes;
        RamState = details?.RamState ?? BoxDetails.RamStateOf(view);
    }

    /// <summary>How long the box keeps running after its last session leaves ("2h"), or "off": suspended at once (the default).</summary>
    public string Keepalive { get; }

    /// <summary>While the box runs with nobody connected because of its keepalive: when it will be suspended.</summary>
    public DateTimeOffset? KeptAliveUntil { get; }

    public string UserId { get; }

    public string Name { get; }

    public string State { get; }

    public int Sessions { get; }

    public string VolumeId { get; }

    public string? InstanceId { get; }

    public DateTimeOffset Created { get; }

    public DateTimeOffset? LastConnected { get; }

    /// <summary>The last connect, or the creation of a box never connected to.</summary>
    public DateTimeOffset LastUsed { get; }

    /// <summary>Bytes the box's volume takes; read from the provider by Get-ShellboxBox -Detailed only, else null.</summary>
    public long? DiskUsedBytes { get; }

    /// <summary>Where the box's RAM state is, e.g. kept on its volume indefinitely while suspended.</summary>
    public string RamState { get; }
}
