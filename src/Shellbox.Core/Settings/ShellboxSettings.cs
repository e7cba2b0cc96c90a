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

    /// <summary>How long reconcile keeps events (shellbox.json "events").</summary>
    public Observability.EventRetention Events { get; init; } = Observability.EventRetention.Default;

    /// <summary>Per-user limits on boxes and running boxes (shellbox.json "quotas"); none by default.</summary>
    public UserQuotas Quotas { get; init; } = UserQuotas.None;

    /// <summary>The provider sections of shellbox.json; each provider reads and validates its own.</summary>
    public ProviderSections Providers { get; init; } = ProviderSections.Empty;

    public string ConfigFile => Path.Combine(StateDirectory, SettingsResolver.ConfigFileName);
}
