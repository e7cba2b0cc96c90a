using Shellbox.Azure.Settings;
using Shellbox.Core.Errors;
using Shellbox.Core.Settings;

namespace Shellbox.Azure.Tests.Settings;

/// <summary>An operator's `azure` section: what applies, what overrides it, and one clear error for each bad field.</summary>
public sealed class AzureSettingsReaderTests : IDisposable
{
    private const string Subscription = "5f1c3a9e-2b7d-4c61-9e8a-0d4b6f2a7c13";
    private const string Subnet = "/subscriptions/5f1c3a9e-2b7d-4c61-9e8a-0d4b6f2a7c13/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/boxes";
    private readonly string folder = Directory.CreateTempSubdirectory("shellbox-azure-settings-").FullName;
    private readonly Dictionary<string, string> environment = [];

    public void Dispose() => Directory.Delete(folder, recursive: true);

    private AzureProviderSettings Read(string azureSection)
    {
        File.WriteAllText(Path.Combine(folder, SettingsResolver.ConfigFileName), $$"""{ "provider": "Azure", "azure": {{azureSection}} }""");
        var settings = SettingsResolver.Resolve(folder, environment.GetValueOrDefault);
        return AzureSettingsReader.Read(settings, environment.GetValueOrDefault);
    }

    private static string Section(string extra = "") =>
        $$"""{ "subscriptionId": "{{Subscription}}", "resourceGroup": "shellbox-rg", "location": "westeurope", "subnetId": "{{Subnet}}", "tableEndpoint": "https://acct.table.core.windows.net" {{extra}} }""";

    [Fact]
    public void GIVEN_a_complete_section_THEN_it_applies_with_the_seed_defaults_for_the_rest()
    {
        var azure = Read(Section());
        Assert.Equal((Subscription, "shellbox-rg", "westeurope"), (azure.SubscriptionId, azure.ResourceGroup, azure.Location));
        Assert.Equal(32, azure.VolumeSizeGB);
        Assert.Equal("Default", azure.Credential);
        Assert.Equal("https://management.azure.com", azure.ArmEndpoint);
    }

    [Fact]
    public void GIVEN_environment_overrides_THEN_they_beat_the_file()
    {
        environment["SHELLBOX_AZURE_RESOURCE_GROUP"] = "other-rg";
        environment["SHELLBOX_AZURE_CREDENTIAL"] = "ManagedIdentity";
        var azure = Read(Section());
        Assert.Equal(("other-rg", "ManagedIdentity"), (azure.ResourceGroup, azure.Credential));
    }

    [Fact]
    public void GIVEN_only_a_connection_string_in_the_environment_THEN_no_table_endpoint_is_needed()
    {
        environment[AzureSettingsReader.TableConnectionStringVariable] = "UseDevelopmentStorage=true";
        var azure = Read($$"""{ "subscriptionId": "{{Subscription}}", "resourceGroup": "rg", "location": "westeurope", "subnetId": "{{Subnet}}" }""");
        Assert.Null(azure.TableEndpoint);
    }

    [Theory]
    [InlineData("""{ "resourceGroup": "rg" }""", "azure.subscriptionId is missing")]
    [InlineData("""{ "subscriptionId": "not-a-guid", "resourceGroup": "rg", "location": "westeurope", "subnetId": "x" }""", "azure.subscriptionId must be a GUID")]
    [InlineData(", \"credential\": \"Password\"", "azure.credential must be one of Default, ManagedIdentity, AzureCli")]
    [InlineData(", \"armEndpoint\": \"http://management.example\"", "azure.armEndpoint must be an absolute https URL")]
    [InlineData(", \"volumeSizeGB\": 1", "azure.volumeSizeGB must be between 4 and 32767")]
    [InlineData(", \"image\": \"debian\"", "azure.image must be publisher:offer:sku:version")]
    [InlineData(", \"instanceSshPort\": \"twenty-two\"", "the azure section is not valid")]
    public void GIVEN_a_bad_field_THEN_one_user_error_names_it_and_the_file(string section, string expected)
    {
        var json = section.StartsWith('{') ? section : Section(section);
        var error = Assert.ThrowsAny<ShellboxException>(() => Read(json));
        Assert.Equal(ShellboxErrorKind.User, error.Kind);
        Assert.Contains(expected, error.Message);
        Assert.Contains(SettingsResolver.ConfigFileName, error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void GIVEN_a_plain_http_table_endpoint_off_loopback_THEN_it_is_refused_and_the_secret_is_never_echoed()
    {
        environment[AzureSettingsReader.TableConnectionStringVariable] = "AccountKey=c2VjcmV0";
        var error = Assert.ThrowsAny<ShellboxException>(() => Read(Section().Replace("https://acct.table.core.windows.net", "http://acct.example")));
        Assert.Contains("azure.tableEndpoint must be an absolute https URL", error.Message);
        Assert.DoesNotContain("c2VjcmV0", error.Message);
    }
}
