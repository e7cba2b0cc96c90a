using System.Globalization;
using Shellbox.Azure.Tests.Runtime;
using Shellbox.Core.Boxes;
using Shellbox.Core.Engine;
using Shellbox.Core.Model;
using Xunit.Abstractions;

namespace Shellbox.Azure.Tests.Flows;

/// <summary>
/// The linger on the Azure provider, on real parts (Core's flows over the Table store in Azurite, the Azure SDK against
/// the ARM emulator, boxes run by the agent on emulated instances): the agent keeps a lingering box's QEMU stopped on
/// its instance after the save, as Local does, so a reconnect within the linger continues that QEMU.
/// </summary>
[Collection(AgentHostCollection.Name)]
public sealed class LingerOnAzureTests(AgentHostFixture fixture, ITestOutputHelper output) : IAsyncLifetime
{
    private const string User = "alice";

    private const string StartCounter = AzureWithRealInstances.StartCounter;

    private static readonly TimeSpan Linger = TimeSpan.FromSeconds(15);

    private AzureWithRealInstances azure = null!;

    private ShellboxEngine Engine => azure.Engine;

    // No spares: reconcile then only does what the test is about (the slow path makes each box its VM and disk).
    public async Task InitializeAsync() =>
        azure = await AzureWithRealInstances.StartAsync(fixture, PoolConfig.Dev with { MinFreeInstances = 0, MaxFreeInstances = 0, MinFreeVolumes = 0, MaxFreeVolumes = 0 }, Linger);

    public async Task DisposeAsync() => await azure.DisposeAsync();

    [Fact]
    public async Task A_reconnect_within_the_linger_continues_the_same_QEMU_on_its_VM_a_duplicate_copies_it_as_it_rests_and_after_the_linger_it_rests_on_its_volume()
    {
        var first = await new ConnectFlow(Engine).ConnectAsync(User, "dev");
        var instanceId = first.Box.InstanceId!;
        await RunAsync(first, $"echo kept > /root/file; {StartCounter}");
        var qemu = azure.QemuPid(instanceId);
        Assert.NotNull(qemu);

        Assert.Equal("lingering", await new DisconnectFlow(Engine).DisconnectAsync(first.Box.Id, first.SessionId));

        // Lingering: its disk still on its VM, its QEMU kept there (stopped after the save)
        Assert.Equal(BoxCatalog.Lingering, (await new BoxCatalog(Engine).GetAsync(User, "dev")).State);
        Assert.Equal(qemu, azure.QemuPid(instanceId));
        Assert.Equal(first.Box.VolumeId, azure.Emulator.State.FindVirtualMachine(instanceId)!.DataDiskNamesByLun[0]);

        // A duplicate meanwhile copies it as it rests (the agent holds it still without a pause: it stands still already)
        var copy = await new DuplicateFlow(Engine).DuplicateAsync(User, "dev", "cp");
        Assert.Equal(BoxCatalog.Suspended, copy.State);
        Assert.Equal((BoxCatalog.Lingering, qemu), ((await new BoxCatalog(Engine).GetAsync(User, "dev")).State, azure.QemuPid(instanceId)));

        var again = await new ConnectFlow(Engine).ConnectAsync(User, "dev");

        Assert.Equal(("lingering", instanceId), (again.Trace.Path, again.Box.InstanceId));
        Assert.Equal(qemu, azure.QemuPid(instanceId)); // the same QEMU went on: no state was loaded
        Assert.Equal("kept", (await RunAsync(again, "cat /root/file")).Trim());
        await AssertCountingAsync(again);
        await AssertClockSetAsync(again); // it stood still while stopped
        await RunAsync(again, "echo after > /root/after");
        Assert.Equal("lingering", await new DisconnectFlow(Engine).DisconnectAsync(again.Box.Id, again.SessionId));

        await Task.Delay(Linger + TimeSpan.FromSeconds(1));
        await ReconcileAsync();

        // After the linger: its QEMU ended, its disk detached from the VM, the box at rest on its volume
        Assert.Null(azure.QemuPid(instanceId));
        Assert.False(azure.Emulator.State.FindVirtualMachine(instanceId)!.DataDiskNamesByLun.ContainsKey(0));
        Assert.Equal((BoxCatalog.Suspended, (string?)null), ((await new BoxCatalog(Engine).GetAsync(User, "dev")).State, (await Engine.Store.GetAsync<BoxRecord>(first.Box.Id))!.InstanceId));

        var back = await new ConnectFlow(Engine).ConnectAsync(User, "dev");
        Assert.Equal("returning", back.Trace.Path);
        Assert.Equal("kept\nafter", (await RunAsync(back, "cat /root/file /root/after")).Trim());
        await AssertCountingAsync(back); // the counter came back from the volume
        await new DisconnectFlow(Engine).DisconnectAsync(back.Box.Id, back.SessionId);

        // AND the copy made while it lingered is the box as it was then, running on
        var copied = await new ConnectFlow(Engine).ConnectAsync(User, "cp");
        Assert.Equal("kept", (await RunAsync(copied, "cat /root/file")).Trim());
        Assert.Equal("none", (await RunAsync(copied, "cat /root/after 2>/dev/null || echo none")).Trim());
        await AssertCountingAsync(copied);
    }

    private Task ReconcileAsync() => azure.ReconcileAsync(output);

    private Task<string> RunAsync(BoxConnection connection, string command) => azure.RunAsync(connection, command);

    private Task AssertCountingAsync(BoxConnection connection) => azure.AssertCountingAsync(connection);

    private async Task AssertClockSetAsync(BoxConnection connection)
    {
        var box = long.Parse((await RunAsync(connection, "date +%s")).Trim(), CultureInfo.InvariantCulture);
        var host = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        Assert.True(Math.Abs(host - box) <= 2, $"the box's clock is {host - box} s off the host's");
    }
}
