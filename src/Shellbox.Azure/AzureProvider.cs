using Azure.Data.Tables;
using Shellbox.Azure.Arm;
using Shellbox.Azure.Identity;
using Shellbox.Azure.Runtime;
using Shellbox.Azure.Settings;
using Shellbox.Azure.Store;
using Shellbox.Core.Engine;
using Shellbox.Core.Ports;
using Shellbox.Core.Settings;

namespace Shellbox.Azure;

/// <summary>
/// The composition root of the Azure provider: Table Storage holds the pool, ARM Compute the instances and
/// volumes, the instance agent over SSH runs the boxes. The control key (admin login of every instance, and the
/// key boxes authorize) lives in &lt;state&gt;/keys on the machine that runs the control plane.
/// </summary>
public static class AzureProvider
{
    public const string ControlKeyFileName = "control_ed25519";

    /// <param name="environment">Reads an environment variable (the table connection string, SHELLBOX_AZURE_* overrides).</param>
    public static async Task<ShellboxEngine> CreateEngineAsync(
        ShellboxSettings settings,
        TimeProvider? time = null,
        AzureProviderOptions? options = null,
        Func<string, string?>? environment = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        time ??= TimeProvider.System;
        options ??= new AzureProviderOptions();
        environment ??= Environment.GetEnvironmentVariable;
        var azure = AzureSettingsReader.Read(settings, environment);
        var credential = AzureCredentials.Create(azure);

        var controlKey = ControlKeyFile.Ensure(Path.Combine(settings.StateDirectory, "keys", ControlKeyFileName));
        var store = await TablePoolStore.OpenAsync(TableService(azure, credential, environment), azure.TableName, cancellationToken).ConfigureAwait(false);
        var agent = new SshInstanceAgent(azure.AdminUsername, controlKey);
        var infrastructure = new AzureInfrastructure(azure, credential, agent, File.ReadAllText(controlKey + ".pub"), options, time);
        return new ShellboxEngine(
            settings,
            store,
            infrastructure,
            new AgentBoxRuntime(store, agent, controlKey, time: time, copyVolume: infrastructure.CopyVolumeAsync),
            time,
            new RandomIdGenerator());
    }

    /// <summary>A connection string from the environment (Azurite, shared key) wins; else the endpoint with the identity.</summary>
    private static TableServiceClient TableService(AzureProviderSettings azure, NamedCredential credential, Func<string, string?> environment) =>
        environment(AzureSettingsReader.TableConnectionStringVariable) is { Length: > 0 } connectionString
            ? new TableServiceClient(connectionString)
            : new TableServiceClient(new Uri(azure.TableEndpoint!), credential.Credential);
}
