using Shellbox.Core.Model;

namespace Shellbox.Core.Settings;

/// <summary>Which provider runs the pools, where its state lives, and the pool bounds.</summary>
public sealed record ShellboxSettings
{
    public const string LocalProvider = "Local";
    public const string AzureProvider = "Azure";

    public required string Provider { get; init; }

    /// <summary>The folder holding the Local store, volumes and golden, and the config file.</summary>
    public required string StateDirectory { get; init; }

    public required PoolConfig Pool { get; init; }

    /// <summary>How long a box stays attached after its last session leaves (a reconnect then costs no attach).</summary>
    public TimeSpan Linger { get; init; } = TimeSpan.Zero;

    /// <summary>How long a lease lasts without a heartbeat.</summary>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromMinutes(2);

    public LocalProviderSettings Local { get; init; } = new();

    public string ConfigFile => Path.Combine(StateDirectory, SettingsResolver.ConfigFileName);
}

/// <summary>Knobs of the Local provider.</summary>
public sealed record LocalProviderSettings
{
    /// <summary>How many boxes may run on this machine at once (local instance slots).</summary>
    public int MaxSlots { get; init; } = 4;

    /// <summary>First loopback port forwarded to a box's SSH server; slot N uses BasePort + N.</summary>
    public int BasePort { get; init; } = 22200;

    /// <summary>Guest RAM per box.</summary>
    public int MemoryMiB { get; init; } = 256;
}
