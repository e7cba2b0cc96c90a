using Shellbox.Core.Boxes;
using Shellbox.Core.Errors;
using Shellbox.Core.Settings;

namespace Shellbox.Core.Tests.Settings;

/// <summary>shellbox.json "keepalive": { "max": "8h" } caps a box's keepalive (default 4h); a bad value is one error naming the field.</summary>
public sealed class KeepaliveSettingsTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("shellbox-keepalive-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    private ShellboxSettings Resolve(string json)
    {
        File.WriteAllText(Path.Combine(folder, SettingsResolver.ConfigFileName), json);
        return SettingsResolver.Resolve(folder, _ => null);
    }

    [Fact]
    public void GIVEN_a_cap_or_none_THEN_it_applies_or_the_default_4h_does()
    {
        Assert.Equal(TimeSpan.FromHours(8), KeepaliveSettings.From(Resolve("""{ "keepalive": { "max": "8h" } }""")).Max);
        Assert.Equal(TimeSpan.FromMinutes(90), KeepaliveSettings.From(Resolve("""{ "keepalive": { "max": "1h30m" } }""")).Max);
        Assert.Equal(TimeSpan.FromHours(4), KeepaliveSettings.From(Resolve("{}")).Max);
        Assert.Equal(TimeSpan.Zero, KeepaliveSettings.From(Resolve("""{ "keepalive": { "max": "off" } }""")).Max);
    }

    [Theory]
    [InlineData("""{ "keepalive": { "max": "forever" } }""")]
    [InlineData("""{ "keepalive": { "max": 8 } }""")]
    [InlineData("""{ "keepalive": { "max": "0s" } }""")]
    [InlineData("""{ "keepalive": { "max": "8 h" } }""")]
    public void GIVEN_a_bad_cap_THEN_resolving_the_settings_fails_with_one_error_naming_keepalive_max(string json)
    {
        var e = Assert.Throws<ShellboxException>(() => Resolve(json));
        Assert.Equal("SettingsInvalid", e.ErrorId);
        Assert.Contains("keepalive.max", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    [InlineData("30m", 1800)]
    [InlineData("2h", 7200)]
    [InlineData("1h30m", 5400)]
    [InlineData("1d", 86400)]
    [InlineData("45s", 45)]
    public void GIVEN_a_duration_as_users_write_it_THEN_it_reads_and_prints_back_the_same(string text, int seconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(seconds), KeepaliveDuration.Parse(text));
        Assert.Equal(text, KeepaliveDuration.Format(TimeSpan.FromSeconds(seconds)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("2x")]
    [InlineData("m30")]
    [InlineData("30m2h")]
    [InlineData("0m")]
    [InlineData("-1h")]
    public void GIVEN_a_bad_duration_THEN_one_user_error(string text)
    {
        Assert.Equal("KeepaliveInvalid", Assert.Throws<ShellboxException>(() => KeepaliveDuration.Parse(text)).ErrorId);
        Assert.Null(KeepaliveDuration.Parse("off"));
    }
}
