using Shellbox.Contracts;
using Shellbox.Core.Ports;
using Shellbox.Local.Infrastructure;

namespace Shellbox.Local.Tests.Infrastructure;

[Collection(GoldenCollection.Name)]
public sealed class LocalInfrastructureContractTests(GoldenFixture golden) : InfrastructureContract, IDisposable
{
    private const int Slots = 3;
    private readonly TempFolder folder = new("shellbox-infra");

    protected override int InstanceCap => Slots;

    public void Dispose() => folder.Dispose();

    protected override Task<IInfrastructure> CreateInfrastructureAsync() =>
        Task.FromResult<IInfrastructure>(new LocalInfrastructure(GoldenFixture.Settings(folder.Path, Slots, GoldenFixture.FreePortBlock(Slots)), golden.Options));

    protected override Task<GoldenSnapshotInfo> GoldenAsync(IInfrastructure infrastructure) => Task.FromResult(golden.Golden);
}
