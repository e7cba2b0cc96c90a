using Shellbox.Core.Boxes;

namespace Shellbox.PowerShell.Output;

/// <summary>A box: who owns it, its state (running, lingering, suspended) and where it lives.</summary>
public sealed class ShellboxBoxInfo
{
    internal ShellboxBoxInfo(BoxView view)
    {
        UserId = view.Box.UserId;
        Name = view.Box.BoxName;
        State = view.State;
        Sessions = view.Sessions;
        VolumeId = view.Box.VolumeId;
        InstanceId = view.InstanceId;
        Created = view.Box.Created;
        LastConnected = view.Box.LastConnected;
    }

    public string UserId { get; }

    public string Name { get; }

    public string State { get; }

    public int Sessions { get; }

    public string VolumeId { get; }

    public string? InstanceId { get; }

    public DateTimeOffset Created { get; }

    public DateTimeOffset? LastConnected { get; }
}
