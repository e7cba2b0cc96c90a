using Shellbox.Core.Ports;
using Shellbox.Core.Settings;

namespace Shellbox.Core.Engine;

/// <summary>
/// The engine of one state location: the three ports plus settings, clock and id generator. A provider
/// (Local, Azure) builds one; cmdlets, the runbook and the ssh wrapper call its flows.
/// </summary>
public sealed class ShellboxEngine(
    ShellboxSettings settings,
    IPoolStore store,
    IInfrastructure infrastructure,
    IBoxRuntime runtime,
    TimeProvider time,
    IIdGenerator ids) : IAsyncDisposable
{
    public ShellboxSettings Settings { get; } = settings;

    public IPoolStore Store { get; } = store;

    public IInfrastructure Infrastructure { get; } = infrastructure;

    public IBoxRuntime Runtime { get; } = runtime;

    public TimeProvider Time { get; } = time;

    public IIdGenerator Ids { get; } = ids;

    public async ValueTask DisposeAsync()
    {
        foreach (var part in new object[] { Runtime, Infrastructure, Store })
        {
            switch (part)
            {
                case IAsyncDisposable a:
                    await a.DisposeAsync().ConfigureAwait(false);
                    break;
                case IDisposable d:
                    d.Dispose();
                    break;
            }
        }
    }
}
