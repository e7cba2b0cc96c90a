using Shellbox.Core.Boxes;
using Shellbox.Core.Engine;
using Shellbox.Core.Errors;
using Shellbox.Core.Model;
using Shellbox.Core.Planning;
using Xunit.Abstractions;

namespace Shellbox.Local.Tests.Boxes;

/// <summary>
/// The host restarts (every QEMU gone) under a pool with ready pairs, on real parts: SQLite, volume folders, QEMU
/// boxes of the test golden, reconcile. A ready pair's volume kept no saved state (its first resume consumed it),
/// so reconcile retires such pairs and makes new ones: a user's new box then resumes, it is never cold-booted.
/// </summary>
[Collection(GoldenCollection.Name)]
public sealed class HostRestartTests(GoldenFixture golden, ITestOutputHelper output) : IAsyncLifetime
{
    private const string User = PoolBoxes.User;

    private PoolBoxes pool = null!;

    private ShellboxEngine Engine => pool.Engine;

    public async Task InitializeAsync() =>
        pool = await PoolBoxes.StartAsync(golden, output, "shellbox-restart", settings => settings with
        {
            Pool = PoolConfig.Dev with { Name = "test", MinFreeInstances = 2, MaxFreeInstances = 3, MaxTotalInstances = 3, MinFreeVolumes = 2, MaxFreeVolumes = 3 },
        });

    public async Task DisposeAsync() => await pool.DisposeAsync();

    [Fact]
    public async Task After_a_host_restart_reconcile_retires_the_dead_ready_pairs_and_a_new_box_resumes_from_a_fresh_one()
    {
        var pairs = await ReadyPairsAsync();
        Assert.NotEmpty(pairs);

        // The host restarts: every QEMU is gone, the store still lists the pairs as ready.
        await GoldenFixture.KillBoxesAsync(pool.State);

        var pass = await ReconcileAsync();

        Assert.Equal(
            pairs.Select(p => p.Instance.Id).Order(StringComparer.Ordinal),
            pass.Outcomes.Where(o => o.Action is RetireDeadPair && o.Succeeded).Select(o => ((RetireDeadPair)o.Action).InstanceId).Order(StringComparer.Ordinal));
        foreach (var (instance, volume) in pairs.Select(p => (p.Instance.Id, p.Volume.Id)))
        {
            Assert.Null(await Engine.Store.GetAsync<VolumeRecord>(volume));
            Assert.False(Directory.Exists(Path.Combine(pool.State, "volumes", volume)));
            Assert.Equal((ResourceStatuses.Free, (string?)null, false), await InstanceStateAsync(instance));
        }

        // The next passes make new pairs, and a new box takes one: resumed, not cold-booted.
        await ReconcileAsync();
        await ReconcileAsync();
        Assert.NotEmpty(await ReadyPairsAsync());
        var box = await new ConnectFlow(Engine).ConnectAsync(User, "fresh");

        Assert.Equal(("new-from-ready-pair", false), (box.Trace.Path, box.Trace.ColdBooted));
        var echo = await Engine.Runtime.RunAsync(box.Endpoint, "echo up", TimeSpan.FromSeconds(20));
        Assert.Equal("up", echo.StdOut.Trim());
    }

    [Fact]
    public async Task A_new_box_that_claims_a_dead_pair_before_reconcile_is_booted_with_its_name_as_hostname()
    {
        await GoldenFixture.KillBoxesAsync(pool.State);

        var box = await new ConnectFlow(Engine).ConnectAsync(User, "named");

        Assert.Equal(("new-from-ready-pair", true), (box.Trace.Path, box.Trace.ColdBooted));
        Assert.Equal("named", (await pool.RunAsync(box, "hostname")).Trim());
    }

    [Fact]
    public async Task A_running_ready_pair_and_a_users_stopped_box_are_never_retired()
    {
        var connected = await new ConnectFlow(Engine).ConnectAsync(User, "mine");
        await Engine.Runtime.RunAsync(connected.Endpoint, "echo kept > /root/file && sync", TimeSpan.FromSeconds(20));

        // The user's box dies with its QEMU (not a ready pair: its volume is theirs); the ready pairs run on.
        var qemu = Local.Qemu.QemuProcess.Find(Path.Combine(pool.State, "instances", connected.Box.InstanceId!))!;
        await qemu.KillAsync();
        var pass = await ReconcileAsync();

        Assert.DoesNotContain(pass.Outcomes, o => o.Action is RetireDeadPair);
        Assert.NotNull(await Engine.Store.GetAsync<VolumeRecord>(connected.Box.VolumeId));
        Assert.True(File.Exists(Path.Combine(pool.State, "volumes", connected.Box.VolumeId, "box.qcow2")));
    }

    [Fact]
    public async Task After_a_host_restart_a_returning_box_that_needs_the_dead_pairs_instance_gets_it_before_reconcile_runs()
    {
        // Two instances at most: after a and b have been used and the pool refilled, one instance is bare and one a ready pair.
        var settings = GoldenFixture.Settings(Path.Combine(Path.GetDirectoryName(pool.State)!, "small"), 2, GoldenFixture.FreePortBlock(2)) with
        {
            Pool = PoolConfig.Dev with { Name = "small", MinFreeInstances = 2, MaxFreeInstances = 2, MaxTotalInstances = 2, MinFreeVolumes = 1, MaxFreeVolumes = 2 },
        };
        await using var small = LocalProvider.CreateEngine(settings, options: golden.Options);
        try
        {
            await new PoolReconciler(small).ReconcileAsync();
            await new PoolReconciler(small).ReconcileAsync();
            foreach (var name in new[] { "a", "b" })
            {
                var c = await new ConnectFlow(small).ConnectAsync(User, name);
                await small.Runtime.RunAsync(c.Endpoint, $"echo {name} > /root/name && sync", TimeSpan.FromSeconds(20));
            }

            foreach (var box in (await small.Store.ReadSnapshotAsync()).Boxes)
            {
                await new DisconnectFlow(small).DisconnectAsync(box.Id, box.Sessions[0].Id);
            }

            await new PoolReconciler(small).ReconcileAsync();
            await new PoolReconciler(small).ReconcileAsync(); // makes a volume, then pairs it
            Assert.Single((await small.Store.ReadSnapshotAsync()).Instances, i => i.IsReadyPairHalf);

            // The host restarts; both users come back before any reconcile.
            await GoldenFixture.KillBoxesAsync(Path.Combine(Path.GetDirectoryName(pool.State)!, "small"));
            var a = await new ConnectFlow(small).ConnectAsync(User, "a");
            var b = await new ConnectFlow(small).ConnectAsync(User, "b");

            Assert.Equal(("returning", "returning"), (a.Trace.Path, b.Trace.Path));
            Assert.Equal("b", (await small.Runtime.RunAsync(b.Endpoint, "cat /root/name", TimeSpan.FromSeconds(20))).StdOut.Trim());
            Assert.DoesNotContain((await small.Store.ReadSnapshotAsync()).Volumes, v => v.UserId is null && v.InstanceId is not null); // the dead pair's volume went
        }
        finally
        {
            await GoldenFixture.KillBoxesAsync(Path.Combine(Path.GetDirectoryName(pool.State)!, "small"));
        }
    }

    [Theory]
    [InlineData("gone", "lost its saved state")]
    [InlineData("corrupt", "has a corrupt saved state")]
    [InlineData("mismatch", "was saved under other machine settings")]
    public async Task A_free_clone_whose_saved_state_is_gone_corrupt_or_of_another_machine_is_deleted_by_the_pair_that_finds_it_so_and_fresh_clones_take_its_place(string damage, string said)
    {
        // GIVEN the free clones have lost their saved state (a host that died right after a clone's resume, mid-pair,
        // leaves that), have a damaged one, or one saved by another machine, and the ready pair is taken, so that
        // reconcile pairs one of them next
        var loose = (await Engine.Store.ReadSnapshotAsync()).Volumes.Where(v => v.IsFree && v.InstanceId is null).Select(v => v.Id).ToList();
        Assert.NotEmpty(loose);
        foreach (var volume in loose)
        {
            if (damage == "mismatch")
            {
                // As if the machine settings changed since the clone was made: its state names another machine.
                var metaFile = Path.Combine(pool.State, "volumes", volume, "meta.json");
                var meta = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(metaFile))!;
                meta["machineFingerprint"] = new string('0', 64);
                await File.WriteAllTextAsync(metaFile, meta.ToJsonString());
                continue;
            }

            var state = Path.Combine(pool.State, "volumes", volume, "device.state");
            var bytes = await File.ReadAllBytesAsync(state);
            File.Delete(state);
            if (damage == "corrupt")
            {
                // QEMU's header kept, so the file passes a glance and QEMU itself refuses the rest.
                new Random(7).NextBytes(bytes.AsSpan(8));
                await File.WriteAllBytesAsync(state, bytes);
            }
        }

        await new ConnectFlow(Engine).ConnectAsync(User, "taker");

        // WHEN reconcile runs THEN the pair that meets such a clone deletes it (store and disk) and fails nothing
        var outcomes = new List<ActionOutcome>();
        for (var i = 0; i < 3; i++)
        {
            outcomes.AddRange((await ReconcileAsync()).Outcomes);
        }

        Assert.All(outcomes, o => Assert.True(o.Succeeded, o.Message));
        var deleted = outcomes.Where(o => o.Action is PairReadyPair && o.Message.Contains(said, StringComparison.Ordinal)).Select(o => ((PairReadyPair)o.Action).VolumeId).ToList();
        Assert.NotEmpty(deleted);
        foreach (var volume in deleted)
        {
            Assert.Contains(volume, loose);
            Assert.Null(await Engine.Store.GetAsync<VolumeRecord>(volume));
            Assert.False(Directory.Exists(Path.Combine(pool.State, "volumes", volume)));
        }

        // AND fresh clones are made and paired: a new box resumes from one, it is not cold-booted
        await ReconcileAsync();
        await ReconcileAsync();
        var box = await new ConnectFlow(Engine).ConnectAsync(User, "after");
        Assert.Equal(("new-from-ready-pair", false), (box.Trace.Path, box.Trace.ColdBooted));
    }

    private async Task<(string, string?, bool)> InstanceStateAsync(string id)
    {
        var row = (await Engine.Store.GetAsync<InstanceRecord>(id))!;
        return (row.Status, row.VolumeId, row.BoxRunning);
    }

    private async Task<List<ReadyPair>> ReadyPairsAsync()
    {
        var snapshot = await Engine.Store.ReadSnapshotAsync();
        return snapshot.Instances.Select(i => new ReadyPair(i, snapshot.Volumes.FirstOrDefault(v => v.Id == i.VolumeId)!))
            .Where(p => p.Volume is not null && ReadyPair.IsPair(p.Instance, p.Volume)).ToList();
    }

    private Task<ReconcileResult> ReconcileAsync() => pool.ReconcileAsync();
}
