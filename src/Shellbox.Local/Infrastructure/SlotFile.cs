namespace Shellbox.Local.Infrastructure;

/// <summary>slot.json: a local instance is slot <see cref="Slot"/>; its box answers SSH on <see cref="Port"/>.</summary>
internal sealed record SlotFile
{
    public required string InstanceId { get; init; }

    public required int Slot { get; init; }

    public required int Port { get; init; }

    public required DateTimeOffset Created { get; init; }

    /// <summary>The attached volume; null while the slot is empty.</summary>
    public string? VolumeId { get; init; }

    /// <summary>The instance's tags as last written (create, attach); detach clears the box's.</summary>
    public Dictionary<string, string> Tags { get; init; } = [];

    public string Endpoint => $"127.0.0.1:{Port}";
}
