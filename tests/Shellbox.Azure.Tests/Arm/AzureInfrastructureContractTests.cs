using Shellbox.Contracts;
using Shellbox.Core.Ports;

namespace Shellbox.Azure.Tests.Arm;

/// <summary>The infrastructure contract every adapter passes, run by the Azure provider against the ARM emulator.</summary>
public sealed class AzureInfrastructureContractTests : InfrastructureContract, IAsyncLifetime
{
    private const int Quota = 3;
    private AzureOnEmulator? azure;

    protected override int InstanceCap => Quota;

    public async Task InitializeAsync() => azure = await AzureOnEmulator.StartAsync(maxVirtualMachines: Quota);

    public async Task DisposeAsync()
    {
        if (azure is not null)
        {
            await azure.DisposeAsync();
        }
    }

    protected override Task<IInfrastructure> CreateInfrastructureAsync() => Task.FromResult<IInfrastructure>(azure!.Infrastructure());
}
