using Shellbox.Azure.Tests.Runtime;
using Shellbox.Contracts;
using Shellbox.Core.Boxes;
using Shellbox.Core.Engine;
using Shellbox.Core.Errors;
using Shellbox.Core.Model;
using Xunit.Abstractions;

namespace Shellbox.Azure.Tests.Flows;

/// <summary>
/// keepalive (issue 10, part 5) on the Azure provider, on real parts: Core's flows and reconcile over the Table store
/// in Azurite, the Azure SDK against the ARM emulator, boxes run by the agent on emulated instances (real sshd, real
/// QEMU). A counter loop started in a box shows a background job going on, or standing still once suspended.
/// </summary>
[Collection(AgentHostCollection.Name)]
public sealed class KeepaliveOnAzureTests(AgentHostFixture fixture, ITestOutputHelper output) : IAsyncLifetime
{
    private const string User = "alice";

    private const string StartCounter = AzureWithRealInstances.StartCounter;

    private AzureWithRealInstances azure = null!;

    private ShellboxEngine Engine => azure.Engine;

    // No spares: reconcile then only does what the test is about (the slow path makes each box its VM and disk).
    public async Task InitializeAsync() =>
        azure = await AzureWithRealInstances.StartAsync(fixture, PoolConfig.Dev with { MinFreeInstances = 0, MaxFreeInstances = 0, MinFreeVolumes = 0, MaxFreeVolumes = 0 });

    public async Task DisposeAsync() => await azure.DisposeAsync();

    [Fact]
    public async Task With_a_keepalive_the_box_keeps_running_on_its_instance_after_its_last_session_and_reconcile_suspends_and_detaches_it_when_it_ends()
    {
        var first = await new ConnectFlow(Engine).ConnectAsync(User, "bg");
        var instanceId = first.Box.InstanceId!;
        await RunAsync(first, StartCounter);
        await new KeepaliveFlow(Engine).SetAsync(User, "bg", TimeSpan.FromSeconds(12));

        var outcome = await new DisconnectFlow(Engine).DisconnectAsync(first.Box.Id, first.SessionId);

        // Nobody connected: the box runs on, its disk still on its VM, its background job going on
        Assert.StartsWith("kept alive until", outcome);
        Assert.True(await Engine.Runtime.IsRunningAsync(instanceId, first.Box.VolumeId));
        Assert.Equal(first.Box.VolumeId, azure.Emulator.State.FindVirtualMachine(instanceId)!.DataDiskNamesByLun[0]);
        await AssertCountingAsync(first);
        await ReconcileAsync();
        Assert.True(await Engine.Runtime.IsRunningAsync(instanceId, first.Box.VolumeId)); // not ended yet

        // A connect meanwhile joins the running box on its VM; leaving again keeps it alive again
        var joined = await new ConnectFlow(Engine).ConnectAsync(User, "bg");
        Assert.Equal(("joining", instanceId), (joined.Trace.Path, joined.Box.InstanceId));
        await AssertCountingAsync(joined);
        await new DisconnectFlow(Engine).DisconnectAsync(joined.Box.Id, joined.SessionId);
        var until = (await Engine.Store.GetAsync<BoxRecord>(first.Box.Id))!.KeptAliveUntil!.Value;

        await Task.Delay((until - DateTimeOffset.UtcNow) + TimeSpan.FromSeconds(1));
        var pass = await ReconcileAsync();

        // Ended: suspended on its instance, its disk detached from the VM, the box at rest
        Assert.Contains(pass.Outcomes, o => o.Action is Core.Planning.EndKeepalive && o.Succeeded);
        Assert.False(await Engine.Runtime.IsRunningAsync(instanceId, first.Box.VolumeId));
        Assert.False(azure.Emulator.State.FindVirtualMachine(instanceId)!.DataDiskNamesByLun.ContainsKey(0));
        var rested = (await Engine.Store.GetAsync<BoxRecord>(first.Box.Id))!;
        Assert.Equal((null, null, TimeSpan.FromSeconds(12)), (rested.InstanceId, rested.KeptAliveUntil, rested.Keepalive));
        Assert.Equal(BoxCatalog.Suspended, (await new BoxCatalog(Engine).GetAsync(User, "bg")).State);

        // AND it comes back with its job where suspending left it, counting on
        var back = await new ConnectFlow(Engine).ConnectAsync(User, "bg");
        await AssertCountingAsync(back);
    }

    [Fact]
    public async Task Off_suspends_a_box_kept_alive_at_once_and_without_a_keepalive_the_last_session_out_suspends()
    {
        var plain = await new ConnectFlow(Engine).ConnectAsync(User, "plain");
        Assert.Equal("suspended", await new DisconnectFlow(Engine).DisconnectAsync(plain.Box.Id, plain.SessionId));
        Assert.False(await Engine.Runtime.IsRunningAsync(plain.Box.InstanceId!, plain.Box.VolumeId));

        var kept = await new ConnectFlow(Engine).ConnectAsync(User, "kept");
        await RunAsync(kept, StartCounter);
        await new KeepaliveFlow(Engine).SetAsync(User, "kept", TimeSpan.FromHours(1));
        await new DisconnectFlow(Engine).DisconnectAsync(kept.Box.Id, kept.SessionId);
        Assert.True(await Engine.Runtime.IsRunningAsync(kept.Box.InstanceId!, kept.Box.VolumeId));

        var off = await new KeepaliveFlow(Engine).SetAsync(User, "kept", null);

        Assert.Equal(BoxCatalog.Suspended, off.State);
        Assert.False(await Engine.Runtime.IsRunningAsync(kept.Box.InstanceId!, kept.Box.VolumeId));
        Assert.False(azure.Emulator.State.FindVirtualMachine(kept.Box.InstanceId!)!.DataDiskNamesByLun.ContainsKey(0));
        var counted = BoxCounter.Parse(await RunAsync(await new ConnectFlow(Engine).ConnectAsync(User, "kept"), BoxCounter.Read));
        Assert.True(counted > 0);
        var tooLong = await Assert.ThrowsAsync<ShellboxException>(() => new KeepaliveFlow(Engine).SetAsync(User, "kept", TimeSpan.FromHours(5)));
        Assert.Equal("KeepaliveTooLong", tooLong.ErrorId);
    }

    private Task<ReconcileResult> ReconcileAsync() => azure.ReconcileAsync(output);

    private Task<string> RunAsync(BoxConnection connection, string command) => azure.RunAsync(connection, command);

    private Task AssertCountingAsync(BoxConnection connection) => azure.AssertCountingAsync(connection);
}
