using Shellbox.Core.Errors;
using Shellbox.Core.Model;
using Shellbox.Core.Settings;

namespace Shellbox.Core.Tests.Settings;

public sealed class SettingsResolverTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("shellbox-settings-").FullName;
    private readonly Dictionary<string, string?> environment = new();

    public void Dispose() => Directory.Delete(folder, recursive: true);

    private ShellboxSettings Resolve(string? explicitDirectory = null) =>
        SettingsResolver.Resolve(explicitDirectory, name => environment.GetValueOrDefault(name));

    [Fact]
    public void GIVEN_nothing_set_THEN_Local_with_Dev_bounds_under_the_users_data_folder()
    {
        environment["XDG_DATA_HOME"] = folder;
        var settings = Resolve();
        Assert.Equal(ShellboxSettings.LocalProvider, settings.Provider);
        Assert.Equal(Path.Combine(folder, "shellbox"), settings.StateDirectory);
        Assert.Equal(PoolConfig.Dev, settings.Pool);
    }

    [Fact]
    public void GIVEN_a_parameter_and_SHELLBOX_HOME_THEN_the_parameter_wins()
    {
        environment[SettingsResolver.HomeVariable] = "/somewhere/else";
        Assert.Equal(folder, Resolve(folder).StateDirectory);
        Assert.Equal("/somewhere/else", Resolve().StateDirectory);
    }

    [Fact]
    public void GIVEN_a_config_file_THEN_its_pool_and_overrides_apply_and_the_environment_overrides_the_file()
    {
        File.WriteAllText(Path.Combine(folder, "shellbox.json"), """
            { "provider": "local", "pool": "Prod", "poolBounds": { "minFreeVolumes": 25 }, "lingerSeconds": 30, "local": { "maxSlots": 2 } }
            """);
        var settings = Resolve(folder);
        Assert.Equal(25, settings.Pool.MinFreeVolumes);
        Assert.Equal(PoolConfig.Prod.MaxTotalVolumes, settings.Pool.MaxTotalVolumes);
        Assert.Equal(TimeSpan.FromSeconds(30), settings.Linger);
        Assert.Contains("\"maxSlots\": 2", settings.Providers["local"]);

        File.WriteAllText(Path.Combine(folder, "shellbox.json"), """{ "pool": "Prod" }""");
        environment[SettingsResolver.PoolVariable] = "dev";
        Assert.Equal(PoolConfig.Dev, Resolve(folder).Pool);
    }

    [Theory]
    [InlineData("""{ "poolBounds": { "minFreeInstances": 3, "maxFreeInstances": 2 } }""", "MaxFreeInstances (2) must be at least MinFreeInstances (3)")]
    [InlineData("""{ "poolBounds": { "maxTotalVolumes": 1 } }""", "MaxTotalVolumes (1) must be at least MaxFreeVolumes (5)")]
    [InlineData("""{ "poolBounds": { "scaleDownCooldownSeconds": 0 } }""", "ScaleDownCooldown must be positive")]
    [InlineData("""{ "pool": "Huge" }""", "no pool configuration named 'Huge'")]
    [InlineData("""{ "provider": "Mars" }""", "no provider named 'Mars'")]
    [InlineData("""{ not json""", "is not valid settings JSON")]
    public void GIVEN_a_bad_config_file_THEN_one_user_error_names_what_is_wrong(string json, string expected)
    {
        File.WriteAllText(Path.Combine(folder, "shellbox.json"), json);
        var error = Assert.ThrowsAny<ShellboxException>(() => Resolve(folder));
        Assert.Equal(ShellboxErrorKind.User, error.Kind);
        Assert.Contains(expected, error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void The_seed_configurations_are_valid_and_exactly_as_seed_000_gives_them()
    {
        Assert.Equal((1, 2, 5, 2, 5, 20), (PoolConfig.Dev.MinFreeInstances, PoolConfig.Dev.MaxFreeInstances, PoolConfig.Dev.MaxTotalInstances, PoolConfig.Dev.MinFreeVolumes, PoolConfig.Dev.MaxFreeVolumes, PoolConfig.Dev.MaxTotalVolumes));
        Assert.Equal((TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(2)), (PoolConfig.Dev.CheckInterval, PoolConfig.Dev.ScaleDownCooldown));
        Assert.Equal((5, 10, 100, 20, 50, 500), (PoolConfig.Prod.MinFreeInstances, PoolConfig.Prod.MaxFreeInstances, PoolConfig.Prod.MaxTotalInstances, PoolConfig.Prod.MinFreeVolumes, PoolConfig.Prod.MaxFreeVolumes, PoolConfig.Prod.MaxTotalVolumes));
        Assert.Equal((TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(10)), (PoolConfig.Prod.CheckInterval, PoolConfig.Prod.ScaleDownCooldown));
        PoolConfig.Dev.Validate();
        PoolConfig.Prod.Validate();
        Assert.Equal(10, ShellboxLimits.MaxQueryResults);
        Assert.Equal(32, ShellboxLimits.DefaultVolumeSizeGB);
        Assert.Equal("golden-snapshot", ShellboxLimits.GoldenSnapshotPrefix);
    }
}
