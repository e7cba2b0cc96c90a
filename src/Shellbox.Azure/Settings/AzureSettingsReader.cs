using System.Text.Json;
using System.Text.RegularExpressions;
using Shellbox.Core.Errors;
using Shellbox.Core.Settings;

namespace Shellbox.Azure.Settings;

/// <summary>
/// Reads the `azure` section of shellbox.json, lets SHELLBOX_AZURE_* environment variables override single
/// fields, and validates the result: a missing or malformed setting is one error naming the field.
/// </summary>
public static partial class AzureSettingsReader
{
    public const string SectionName = "azure";

    /// <summary>The only place the Table Storage connection string (a secret) may come from.</summary>
    public const string TableConnectionStringVariable = "SHELLBOX_TABLE_CONNECTION_STRING";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    private static readonly string[] Credentials = ["Default", "ManagedIdentity", "AzureCli"];

    public static AzureProviderSettings Read(ShellboxSettings settings, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(environment);
        var file = settings.ConfigFile;
        SectionFile section;
        try
        {
            section = settings.Providers[SectionName] is { } json ? JsonSerializer.Deserialize<SectionFile>(json, Json) ?? new() : new();
        }
        catch (JsonException e)
        {
            throw Invalid(file, $"the azure section is not valid: {e.Message}");
        }

        string? Pick(string variable, string? value) => First(environment($"SHELLBOX_AZURE_{variable}"), value);
        var defaults = new AzureProviderSettings { SubscriptionId = "", ResourceGroup = "", Location = "", SubnetId = "" };
        var result = new AzureProviderSettings
        {
            SubscriptionId = Required(file, "subscriptionId", Pick("SUBSCRIPTION_ID", section.SubscriptionId)),
            ResourceGroup = Required(file, "resourceGroup", Pick("RESOURCE_GROUP", section.ResourceGroup)),
            Location = Required(file, "location", Pick("LOCATION", section.Location)),
            SubnetId = Required(file, "subnetId", Pick("SUBNET_ID", section.SubnetId)),
            TableEndpoint = Pick("TABLE_ENDPOINT", section.TableEndpoint),
            TableName = section.TableName ?? defaults.TableName,
            VmSize = section.VmSize ?? defaults.VmSize,
            Image = section.Image ?? defaults.Image,
            AdminUsername = section.AdminUsername ?? defaults.AdminUsername,
            Credential = Pick("CREDENTIAL", section.Credential) ?? defaults.Credential,
            ManagedIdentityClientId = Pick("MANAGED_IDENTITY_CLIENT_ID", section.ManagedIdentityClientId),
            ArmEndpoint = Pick("ARM_ENDPOINT", section.ArmEndpoint) ?? defaults.ArmEndpoint,
            InstanceSshPort = section.InstanceSshPort ?? defaults.InstanceSshPort,
            BoxSshPort = section.BoxSshPort ?? defaults.BoxSshPort,
            VolumeSizeGB = section.VolumeSizeGB ?? defaults.VolumeSizeGB,
            AgentPackageUrl = section.AgentPackageUrl,
        };
        return Validate(result, file, hasConnectionString: !string.IsNullOrWhiteSpace(environment(TableConnectionStringVariable)));
    }

    private static AzureProviderSettings Validate(AzureProviderSettings s, string file, bool hasConnectionString)
    {
        Check(Guid.TryParse(s.SubscriptionId, out _), file, $"azure.subscriptionId must be a GUID, not '{s.SubscriptionId}'");
        Check(ResourceGroupName().IsMatch(s.ResourceGroup), file, $"azure.resourceGroup '{s.ResourceGroup}' is not a valid resource group name");
        Check(LocationName().IsMatch(s.Location), file, $"azure.location must be a region name such as westeurope, not '{s.Location}'");
        Check(SubnetIdPattern().IsMatch(s.SubnetId), file, "azure.subnetId must be a subnet's ARM id (/subscriptions/.../resourceGroups/.../providers/Microsoft.Network/virtualNetworks/V/subnets/S)");
        Check(TableNamePattern().IsMatch(s.TableName), file, $"azure.tableName must be 3 to 57 letters or digits starting with a letter, not '{s.TableName}'");
        Check(Credentials.Contains(s.Credential, StringComparer.Ordinal), file, $"azure.credential must be one of {string.Join(", ", Credentials)}, not '{s.Credential}'");
        Check(IsHttps(s.ArmEndpoint), file, $"azure.armEndpoint must be an absolute https URL, not '{s.ArmEndpoint}'");
        Check(s.TableEndpoint is not null || hasConnectionString, file, $"azure.tableEndpoint is missing (or set {TableConnectionStringVariable} in the environment)");
        Check(s.TableEndpoint is null || IsHttps(s.TableEndpoint) || IsLoopbackHttp(s.TableEndpoint), file, $"azure.tableEndpoint must be an absolute https URL, not '{s.TableEndpoint}'");
        Check(s.InstanceSshPort is > 0 and < 65536, file, $"azure.instanceSshPort must be a TCP port, not {s.InstanceSshPort}");
        Check(s.BoxSshPort is > 0 and < 65536, file, $"azure.boxSshPort must be a TCP port, not {s.BoxSshPort}");
        Check(s.VolumeSizeGB is >= 4 and <= 32767, file, $"azure.volumeSizeGB must be between 4 and 32767, not {s.VolumeSizeGB}");
        Check(!string.IsNullOrWhiteSpace(s.VmSize) && !string.IsNullOrWhiteSpace(s.Image) && s.Image.Split(':').Length == 4, file, $"azure.image must be publisher:offer:sku:version, not '{s.Image}'");
        Check(AdminName().IsMatch(s.AdminUsername), file, $"azure.adminUsername must be a Linux user name, not '{s.AdminUsername}'");
        Check(s.AgentPackageUrl is null || IsHttps(s.AgentPackageUrl), file, "azure.agentPackageUrl must be an absolute https URL");
        return s;
    }

    private static bool IsHttps(string url) => Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttps;

    // Azurite on this machine: plain http is only acceptable to a loopback address.
    private static bool IsLoopbackHttp(string url) => Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback;

    private static string Required(string file, string field, string? value) =>
        string.IsNullOrWhiteSpace(value) ? throw Invalid(file, $"azure.{field} is missing") : value.Trim();

    private static void Check(bool ok, string file, string why)
    {
        if (!ok)
        {
            throw Invalid(file, why);
        }
    }

    private static ShellboxException Invalid(string file, string why) => ShellboxException.User("SettingsInvalid", $"{file}: {why}.");

    private static string? First(params string?[] values) => values.FirstOrDefault(v => !string.IsNullOrWhiteSpace(v));

    [GeneratedRegex(@"^[-\w\.\(\)]{1,90}$")]
    private static partial Regex ResourceGroupName();

    [GeneratedRegex("^[a-z][a-z0-9]{1,40}$")]
    private static partial Regex LocationName();

    [GeneratedRegex(@"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[-\w\.\(\)]{1,90}/providers/Microsoft\.Network/virtualNetworks/[^/]+/subnets/[^/]+$", RegexOptions.IgnoreCase)]
    private static partial Regex SubnetIdPattern();

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9]{2,56}$")]
    private static partial Regex TableNamePattern();

    [GeneratedRegex("^[a-z_][a-z0-9_-]{0,31}$")]
    private static partial Regex AdminName();

    /// <summary>The section as written; every field optional here, required ones are checked above.</summary>
    private sealed record SectionFile(
        string? SubscriptionId = null, string? ResourceGroup = null, string? Location = null, string? SubnetId = null,
        string? TableEndpoint = null, string? TableName = null, string? VmSize = null, string? Image = null,
        string? AdminUsername = null, string? Credential = null, string? ManagedIdentityClientId = null, string? ArmEndpoint = null,
        int? InstanceSshPort = null, int? BoxSshPort = null, int? VolumeSizeGB = null, string? AgentPackageUrl = null);
}
