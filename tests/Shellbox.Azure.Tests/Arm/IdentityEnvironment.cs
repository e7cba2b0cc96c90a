using Shellbox.ArmEmulator;

namespace Shellbox.Azure.Tests.Arm;

/// <summary>
/// Points the REAL ManagedIdentityCredential at a loopback emulator, the way Azure Automation points it
/// at its identity endpoint: IDENTITY_ENDPOINT and IDENTITY_HEADER. Those are process-wide, so one
/// long-lived emulator serves tokens for the whole test run (every emulator accepts them); with them
/// set the credential never probes the instance metadata service (169.254.169.254).
/// </summary>
internal static class IdentityEnvironment
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static ArmEmulatorServer? issuer;

    public static async Task EnsureAsync()
    {
        await Gate.WaitAsync();
        try
        {
            if (issuer is not null)
            {
                return;
            }

            var folder = Directory.CreateTempSubdirectory("shellbox-identity-").FullName;
            issuer = await ArmEmulatorServer.StartAsync(new ArmEmulatorOptions { DataDirectory = folder });
            Environment.SetEnvironmentVariable("IDENTITY_ENDPOINT", issuer.ManagedIdentityEndpoint.ToString());
            Environment.SetEnvironmentVariable("IDENTITY_HEADER", issuer.ManagedIdentityHeader);
            AppDomain.CurrentDomain.ProcessExit += (_, _) =>
            {
                issuer.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(5));
                try
                {
                    Directory.Delete(folder, recursive: true);
                }
                catch (IOException)
                {
                    // the run is ending; a folder left in the temp folder is harmless
                }
            };
        }
        finally
        {
            Gate.Release();
        }
    }
}
