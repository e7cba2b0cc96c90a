using Shellbox.Core.Errors;
using Shellbox.Core.Settings;

namespace Shellbox.Core.Tests.Settings;

/// <summary>shellbox.json "quotas": a missing field is no limit; each bad field is one error naming it.</summary>
public sealed class QuotaSettingsTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("shellbox-quotas-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    private ShellboxSettings Resolve(string json)
    {
        File.WriteAllText(Path.Combine(folder, SettingsResolver.ConfigFileName), json);
        return SettingsResolver.Resolve(folder, _ => null);
    }

    [Fact]
    public void GIVEN_quotas_THEN_they_apply_and_a_missing_field_is_no_limit()
    {
        Assert.Equal(new UserQuotas(3, 1), Resolve("""{ "quotas": { "boxes": 3, "runningBoxes": 1 } }""").Quotas);
        Assert.Equal(new UserQuotas(3, null), Resolve("""{ "quotas": { "boxes": 3 } }""").Quotas);
        Assert.Equal(UserQuotas.None, Resolve("{}").Quotas);
    }

    [Theory]
    [InlineData("""{ "quotas": { "boxes": 0 } }""", "quotas.boxes")]
    [InlineData("""{ "quotas": { "boxes": -2 } }""", "quotas.boxes")]
    [InlineData("""{ "quotas": { "runningBoxes": 1.5 } }""", "quotas.runningBoxes")]
    [InlineData("""{ "quotas": { "boxes": 2, "runingBoxes": 1 } }""", "quotas.runingBoxes")]
    [InlineData("""{ "quotas": { "boxes": "three" } }""", "quotas.boxes")]
    public void GIVEN_a_bad_quota_THEN_one_error_names_the_field(string json, string field)
    {
        var e = Assert.Throws<ShellboxException>(() => Resolve(json));
        Assert.Equal("SettingsInvalid", e.ErrorId);
        Assert.Contains(field, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }
}
