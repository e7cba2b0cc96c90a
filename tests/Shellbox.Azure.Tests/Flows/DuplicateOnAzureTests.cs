using System.Diagnostics;
using Shellbox.Azure.Tests.Runtime;
using Shellbox.Core.Boxes;
using Shellbox.Core.Engine;
using Shellbox.Core.Model;
using Xunit.Abstractions;

namespace Shellbox.Azure.Tests.Flows;

/// <summary>
/// duplicate of a running box (issue 10, part 5) on the Azure provider, on real parts: Core's DuplicateFlow over the
/// Table store in Azurite, the managed disk copied through the Azure SDK against the ARM emulator while the agent
/// holds the box still on its emulated instance (real sshd, real QEMU). A counter loop started in the box shows its
/// programs going on in the source and carried into the copy.
/// </summary>
[Collection(AgentHostCollection.Name)]
public sealed class DuplicateOnAzureTests(AgentHostFixture fixture, ITestOutputHelper output) : IAsyncLifetime
{
    private const string User = "alice";

    private const string StartCounter = AzureWithRealInstances.StartCounter;

    private AzureWithRealInstances azure = null!;

    private ShellboxEngine Engine => azure.Engine;

    public async Task InitializeAsync() =>
        azure = await AzureWithRealInstances.StartAsync(fixture, PoolConfig.Dev with { MinFreeInstances = 0, MaxFreeInstances = 0, MinFreeVolumes = 0, MaxFreeVolumes = 0 });

    public async Task DisposeAsync() => await azure.DisposeAsync();

    [Fact]
    public async Task A_running_box_is_paused_for_the_copy_of_its_disk_and_goes_on_with_its_session_while_the_copy_has_its_files_and_programs()
    {
        // GIVEN a box in use: a file written, a job running, a session open
        var source = await new ConnectFlow(Engine).ConnectAsync(User, "live");
        await RunAsync(source, $"echo one > /root/before; {StartCounter}");
        await Task.Delay(1500);

        // WHEN it is duplicated while running
        var clock = Stopwatch.StartNew();
        var copy = await new DuplicateFlow(Engine).DuplicateAsync(User, "live", "fork");
        output.WriteLine($"duplicate of a running box on Azure (emulator): {clock.Elapsed.TotalSeconds:0.000} s");

        // THEN the source goes on: same session, same QEMU on the same VM, its disk still attached there, still counting
        Assert.Equal(BoxCatalog.Suspended, copy.State);
        Assert.True(await Engine.Runtime.IsRunningAsync(source.Box.InstanceId!, source.Box.VolumeId));
        Assert.Single((await Engine.Store.GetAsync<BoxRecord>(source.Box.Id))!.Sessions);
        Assert.Equal(source.Box.VolumeId, azure.Emulator.State.FindVirtualMachine(source.Box.InstanceId!)!.DataDiskNamesByLun[0]);
        await AssertCountingAsync(source);

        // AND the copy is a managed disk copied from the source's in one ARM call, with nothing left over on the source's
        var disk = azure.Emulator.State.FindDisk(copy.Box.VolumeId)!;
        Assert.Equal("Copy", disk.CreateOption);
        Assert.EndsWith($"/disks/{source.Box.VolumeId}", disk.SourceResourceId, StringComparison.OrdinalIgnoreCase);
        Assert.Empty(Directory.EnumerateDirectories(azure.Emulator.State.FindDisk(source.Box.VolumeId)!.Folder, ".copy-*"));

        // AND the copy resumes (its first resume) with the source's file and its job counting on, under its own host key
        var forked = await new ConnectFlow(Engine).ConnectAsync(User, "fork");
        Assert.Equal("one", (await RunAsync(forked, "cat /root/before")).Trim());
        await AssertCountingAsync(forked);
        Assert.NotEqual(Key(source), Key(forked));
        Assert.Equal("fork", (await RunAsync(forked, "hostname")).Trim());

        // AND the two go separate ways
        await RunAsync(forked, "echo two > /root/after");
        Assert.Equal("absent", (await RunAsync(source, "test -e /root/after && echo present || echo absent")).Trim());
    }

    private Task<string> RunAsync(BoxConnection connection, string command) => azure.RunAsync(connection, command);

    private Task AssertCountingAsync(BoxConnection connection) => azure.AssertCountingAsync(connection);

    private static string Key(BoxConnection connection) => connection.Endpoint.HostKey.Split(' ', 3)[2];
}
