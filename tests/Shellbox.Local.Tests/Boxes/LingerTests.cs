using Shellbox.Core.Boxes;
using Shellbox.Core.Engine;
using Shellbox.Core.Errors;
using Shellbox.Core.Model;
using Shellbox.Local.Qemu;
using Xunit.Abstractions;

namespace Shellbox.Local.Tests.Boxes;

/// <summary>
/// A box lingering after its last session (shellbox.json lingerSeconds) on real parts: SQLite, volume folders, QEMU
/// boxes of the test golden, reconcile. Its state is saved on its volume at the disconnect, and its QEMU is kept
/// stopped on the instance, so a reconnect within the linger continues the same process; after the linger the box
/// rests on its volume like any suspended box.
/// </summary>
[Collection(GoldenCollection.Name)]
public sealed class LingerTests(GoldenFixture golden, ITestOutputHelper output) : IAsyncLifetime
{
    private const string User = PoolBoxes.User;
    private const string StartCounter = PoolBoxes.StartCounter;

    private static readonly TimeSpan Linger = TimeSpan.FromSeconds(12);

    private PoolBoxes pool = null!;

    private ShellboxEngine Engine => pool.Engine;

    public async Task InitializeAsync() =>
        pool = await PoolBoxes.StartAsync(golden, output, "shellbox-linger", settings => settings with
        {
            Pool = PoolConfig.Dev with { Name = "test", MinFreeInstances = 1, MaxFreeInstances = 3, MaxTotalInstances = 3, MinFreeVolumes = 1, MaxFreeVolumes = 3 },
            Linger = Linger,
        });

    public async Task DisposeAsync() => await pool.DisposeAsync();

    [Fact]
    public async Task A_reconnect_within_the_linger_continues_the_same_box_and_after_the_linger_it_rests_on_its_volume()
    {
        var first = await ConnectAsync("dev");
        await RunAsync(first, $"echo kept > /root/file; {StartCounter}");
        var instance = first.Box.InstanceId!;
        var qemu = Qemu(instance)!.Pid;

        Assert.Equal("lingering", await DisconnectAsync(first));

        // Saved as by any suspend: the device state is on the volume; the box is lingering, its QEMU kept (stopped).
        Assert.True(File.Exists(DeviceState(first)));
        Assert.Equal(BoxCatalog.Lingering, (await new BoxCatalog(Engine).GetAsync(User, "dev")).State);
        Assert.Equal(qemu, Qemu(instance)?.Pid);

        await Task.Delay(TimeSpan.FromSeconds(2));
        var again = await ConnectAsync("dev");

        Assert.Equal(("lingering", instance), (again.Trace.Path, again.Box.InstanceId));
        Assert.Equal(qemu, Qemu(instance)?.Pid); // the same QEMU went on: no state was loaded
        Assert.False(File.Exists(DeviceState(first))); // stale from the continue on, as after every resume
        Assert.Equal("kept", (await RunAsync(again, "cat /root/file")).Trim());
        await AssertCountingAsync(again);
        await AssertClockSetAsync(again); // it stood still while stopped
        await RunAsync(again, "echo after > /root/after"); // its disk is writable again after the continue

        Assert.Equal("lingering", await DisconnectAsync(again));
        Assert.True(File.Exists(DeviceState(first))); // saved again
        await Task.Delay(Linger + TimeSpan.FromSeconds(1));
        await ReconcileAsync();

        // After the linger: QEMU ended, the volume detached with its saved state, the instance free.
        Assert.Null(Qemu(instance));
        Assert.False(await Engine.Runtime.IsRunningAsync(instance, first.Box.VolumeId));
        Assert.True(File.Exists(DeviceState(first)));
        Assert.Equal((BoxCatalog.Suspended, (string?)null), ((await new BoxCatalog(Engine).GetAsync(User, "dev")).State, (await Engine.Store.GetAsync<BoxRecord>(first.Box.Id))!.InstanceId));
        Assert.Equal(ResourceStatuses.Free, (await Engine.Store.GetAsync<InstanceRecord>(instance))!.Status);

        var back = await ConnectAsync("dev");
        Assert.Equal("returning", back.Trace.Path);
        Assert.Equal("kept\nafter", (await RunAsync(back, "cat /root/file /root/after")).Trim());
        await AssertCountingAsync(back); // the counter came back from the volume
    }

    [Fact]
    public async Task A_lingering_box_is_duplicated_as_it_rests_and_removed_with_its_kept_qemu()
    {
        var source = await ConnectAsync("src");
        await RunAsync(source, $"echo one > /root/before; {StartCounter}");
        await Task.Delay(1500);
        Assert.Equal("lingering", await DisconnectAsync(source));
        var instance = source.Box.InstanceId!;
        var kept = Qemu(instance)!.Pid;

        var copy = await new DuplicateFlow(Engine).DuplicateAsync(User, "src", "cp");

        Assert.Equal(BoxCatalog.Suspended, copy.State);
        Assert.Equal(BoxCatalog.Lingering, (await new BoxCatalog(Engine).GetAsync(User, "src")).State);
        var copied = await ConnectAsync("cp");
        Assert.Equal("one", (await RunAsync(copied, "cat /root/before")).Trim());
        await AssertCountingAsync(copied);

        await new BoxCatalog(Engine).RemoveAsync(User, "src");

        // Its kept QEMU is gone (the copy may run on the same instance now: with nothing free, its connect ended the linger).
        Assert.NotEqual(kept, Qemu(instance)?.Pid);
        Assert.False(Directory.Exists(Path.Combine(pool.State, "volumes", source.Box.VolumeId)));
        var gone = await Assert.ThrowsAsync<ShellboxException>(() => new BoxCatalog(Engine).GetAsync(User, "src"));
        Assert.Equal("BoxNotFound", gone.ErrorId);
        Assert.Equal("one", (await RunAsync(copied, "cat /root/before")).Trim()); // the copy is its own
    }

    private QemuProcess? Qemu(string instanceId) => QemuProcess.Find(Path.Combine(pool.State, "instances", instanceId));

    private string DeviceState(BoxConnection connection) => Path.Combine(pool.State, "volumes", connection.Box.VolumeId, "device.state");

    private Task ReconcileAsync() => pool.ReconcileAsync();

    private Task<BoxConnection> ConnectAsync(string name) => pool.ConnectAsync(name);

    private Task<string> DisconnectAsync(BoxConnection connection) => pool.DisconnectAsync(connection);

    private Task<string> RunAsync(BoxConnection connection, string command) => pool.RunAsync(connection, command);

    private Task AssertCountingAsync(BoxConnection connection) => pool.AssertCountingAsync(connection);

    private async Task AssertClockSetAsync(BoxConnection connection)
    {
        var box = long.Parse((await RunAsync(connection, "date +%s")).Trim());
        var host = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        Assert.True(Math.Abs(host - box) <= 2, $"the box's clock is {host - box} s behind the host's");
    }
}
