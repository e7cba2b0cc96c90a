using Shellbox.Core.Errors;

namespace Shellbox.Core.Model;

/// <summary>
/// Bounds of the two warm pools (seed 000, "Configuration Reference"). Dev and Prod are the contract;
/// a custom configuration must pass <see cref="Validate"/>.
/// </summary>
public sealed record PoolConfig
{
    public required string Name { get; init; }
    public required int MinFreeInstances { get; init; }
    public required int MaxFreeInstances { get; init; }
    public required int MaxTotalInstances { get; init; }
    public required int MinFreeVolumes { get; init; }
    public required int MaxFreeVolumes { get; init; }
    public required int MaxTotalVolumes { get; init; }
    public required TimeSpan CheckInterval { get; init; }
    public required TimeSpan ScaleDownCooldown { get; init; }

    public static PoolConfig Dev { get; } = new()
    {
        Name = "Dev",
        MinFreeInstances = 1,
        MaxFreeInstances = 2,
        MaxTotalInstances = 5,
        MinFreeVolumes = 2,
        MaxFreeVolumes = 5,
        MaxTotalVolumes = 20,
        CheckInterval = TimeSpan.FromSeconds(30),
        ScaleDownCooldown = TimeSpan.FromMinutes(2),
    };

    public static PoolConfig Prod { get; } = new()
    {
        Name = "Prod",
        MinFreeInstances = 5,
        MaxFreeInstances = 10,
        MaxTotalInstances = 100,
        MinFreeVolumes = 20,
        MaxFreeVolumes = 50,
        MaxTotalVolumes = 500,
        CheckInterval = TimeSpan.FromMinutes(1),
        ScaleDownCooldown = TimeSpan.FromMinutes(10),
    };

    /// <summary>The named configuration, case-insensitive; an unknown name is a user error.</summary>
    public static PoolConfig Named(string name) => name.ToUpperInvariant() switch
    {
        "DEV" => Dev,
        "PROD" => Prod,
        _ => throw ShellboxException.User("PoolConfigUnknown", $"There is no pool configuration named '{name}'; use Dev or Prod."),
    };

    public PoolBounds Instances => new(ResourceRoles.Instance, MinFreeInstances, MaxFreeInstances, MaxTotalInstances);

    public PoolBounds Volumes => new(ResourceRoles.Volume, MinFreeVolumes, MaxFreeVolumes, MaxTotalVolumes);

    public PoolBounds For(string role) => role == ResourceRoles.Instance ? Instances : Volumes;

    /// <summary>Returns this configuration, or throws one error naming the first field that is wrong.</summary>
    public PoolConfig Validate()
    {
        Check(MinFreeInstances, MaxFreeInstances, MaxTotalInstances, "Instances");
        Check(MinFreeVolumes, MaxFreeVolumes, MaxTotalVolumes, "Volumes");
        if (CheckInterval <= TimeSpan.Zero)
        {
            throw Invalid(nameof(CheckInterval), $"must be positive, not {CheckInterval}");
        }

        if (ScaleDownCooldown <= TimeSpan.Zero)
        {
            throw Invalid(nameof(ScaleDownCooldown), $"must be positive, not {ScaleDownCooldown}");
        }

        return this;
    }

    private void Check(int min, int max, int total, string noun)
    {
        if (min < 0)
        {
            throw Invalid($"MinFree{noun}", $"must be 0 or more, not {min}");
        }

        if (max < min)
        {
            throw Invalid($"MaxFree{noun}", $"({max}) must be at least MinFree{noun} ({min})");
        }

        if (total < max)
        {
            throw Invalid($"MaxTotal{noun}", $"({total}) must be at least MaxFree{noun} ({max})");
        }
    }

    private ShellboxException Invalid(string field, string why) =>
        ShellboxException.User("PoolConfigInvalid", $"Pool configuration '{Name}': {field} {why}.");
}

/// <summary>The bounds of one pool (instances or volumes).</summary>
public sealed record PoolBounds(string Role, int MinFree, int MaxFree, int MaxTotal);
