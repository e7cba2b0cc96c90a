using Shellbox.Core.Errors;
using Shellbox.Core.Settings;

namespace Shellbox.Local.Tests;

/// <summary>The `local` section of shellbox.json belongs to the Local provider: it reads and validates it.</summary>
public sealed class LocalProviderSettingsTests : IDisposable
{
    private readonly TempFolder folder = new("shellbox-local-settings");

    public void Dispose() => folder.Dispose();

    private LocalProviderSettings FromFile(string json)
    {
        File.WriteAllText(Path.Combine(folder.Path, SettingsResolver.ConfigFileName), json);
        return LocalProviderSettings.From(SettingsResolver.Resolve(folder.Path, _ => null));
    }

    [Fact]
    public void GIVEN_a_local_section_THEN_its_values_apply_and_missing_ones_keep_their_defaults()
    {
        var local = FromFile("""{ "local": { "maxSlots": 2, "memoryMiB": 512 } }""");
        Assert.Equal((2, 512, new LocalProviderSettings().BasePort), (local.MaxSlots, local.MemoryMiB, local.BasePort));
    }

    [Theory]
    [InlineData("""{ "local": { "maxSlots": 0 } }""", "local.maxSlots must be between 1 and 64")]
    [InlineData("""{ "local": { "basePort": 80 } }""", "local.basePort must leave room")]
    [InlineData("""{ "local": { "memoryMiB": 1 } }""", "local.memoryMiB must be between 64 and 16384")]
    [InlineData("""{ "local": { "maxSlots": "many" } }""", "the local section is not valid")]
    public void GIVEN_a_bad_local_value_THEN_one_user_error_names_the_field_and_the_file(string json, string expected)
    {
        var error = Assert.ThrowsAny<ShellboxException>(() => FromFile(json));
        Assert.Equal(ShellboxErrorKind.User, error.Kind);
        Assert.Contains(expected, error.Message);
        Assert.Contains(SettingsResolver.ConfigFileName, error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }
}
