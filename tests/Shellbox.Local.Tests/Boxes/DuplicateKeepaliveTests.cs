using System.Diagnostics;
using Shellbox.Core.Boxes;
using Shellbox.Core.Engine;
using Shellbox.Core.Errors;
using Shellbox.Core.Lifecycle;
using Shellbox.Core.Model;
using Shellbox.Core.Ports;
using Shellbox.Core.Store;
using Xunit.Abstractions;

namespace Shellbox.Local.Tests.Boxes;

/// <summary>
/// Duplicate and keepalive through the engine on real parts: SQLite, volume folders, QEMU boxes of the test
/// golden, reconcile. A counter loop started in a box shows a running program moving on (or standing still).
/// </summary>
[Collection(GoldenCollection.Name)]
public sealed class DuplicateKeepaliveTests(GoldenFixture golden, ITestOutputHelper output) : IAsyncLifetime
{
    private const string User = PoolBoxes.User;
    private const string StartCounter = PoolBoxes.StartCounter;

    private PoolBoxes pool = null!;

    private ShellboxEngine Engine => pool.Engine;

    public async Task InitializeAsync() =>
        pool = await PoolBoxes.StartAsync(golden, output, "shellbox-dup", settings => settings with
        {
            Pool = PoolConfig.Dev with { Name = "test", MinFreeInstances = 2, MaxFreeInstances = 3, MaxTotalInstances = 3, MinFreeVolumes = 2, MaxFreeVolumes = 4 },
        });

    public async Task DisposeAsync() => await pool.DisposeAsync();

    [Fact]
    public async Task A_suspended_box_is_duplicated_with_its_files_and_running_programs_and_the_two_then_go_separate_ways()
    {
        var source = await ConnectAsync("src");
        await RunAsync(source, $"echo one > /root/before; {StartCounter}");
        await Task.Delay(1500);
        await DisconnectAsync(source);
        var sourceVolume = Path.Combine(pool.State, "volumes", source.Box.VolumeId);
        var sourceFiles = Snapshot(sourceVolume);

        var copy = await new DuplicateFlow(Engine).DuplicateAsync(User, "src", "cp");

        Assert.Equal(("cp", BoxCatalog.Suspended, User), (copy.Box.BoxName, copy.State, copy.Box.UserId));
        Assert.NotEqual(source.Box.VolumeId, copy.Box.VolumeId);
        Assert.Equal(sourceFiles, Snapshot(sourceVolume)); // the source is only read
        var copied = await ConnectAsync("cp");
        Assert.Equal("one", (await RunAsync(copied, "cat /root/before")).Trim());
        await AssertCountingAsync(copied);
        await RunAsync(copied, "echo two > /root/after");
        Assert.NotEqual(Key(source), Key(copied));

        var again = await ConnectAsync("src");
        Assert.Equal(Key(source), Key(again));
        Assert.Equal("absent", (await RunAsync(again, "test -e /root/after && echo present || echo absent")).Trim());
        await AssertCountingAsync(again);
    }

    [Fact]
    public async Task A_running_box_is_paused_for_the_copy_and_goes_on_with_its_session_while_the_copy_has_its_state()
    {
        var source = await ConnectAsync("live");
        await RunAsync(source, $"echo one > /root/before; {StartCounter}");
        await Task.Delay(1500);

        var copy = await new DuplicateFlow(Engine).DuplicateAsync(User, "live", "fork");

        // The source's session goes on: same box, still answering, still counting, still attached.
        Assert.True(await Engine.Runtime.IsRunningAsync(source.Box.InstanceId!, source.Box.VolumeId));
        await AssertCountingAsync(source);
        Assert.Single((await Engine.Store.GetAsync<BoxRecord>(source.Box.Id))!.Sessions);
        Assert.Equal(BoxCatalog.Suspended, copy.State);

        var forked = await ConnectAsync("fork");
        Assert.Equal("one", (await RunAsync(forked, "cat /root/before")).Trim());
        await AssertCountingAsync(forked);
        await RunAsync(forked, "echo two > /root/after");
        Assert.Equal("absent", (await RunAsync(source, "test -e /root/after && echo present || echo absent")).Trim());
        Assert.NotEqual(Key(source), Key(forked));
    }

    [Fact]
    public async Task Bad_duplicates_change_nothing()
    {
        var source = await ConnectAsync("orig");
        await DisconnectAsync(source);
        await ReconcileAsync();
        var other = await new BoxCatalog(Engine).CreateAsync(User, "taken");
        var before = await Engine.Store.ReadSnapshotAsync();
        var flow = new DuplicateFlow(Engine);

        Assert.Equal("BoxExists", (await Assert.ThrowsAsync<ShellboxException>(() => flow.DuplicateAsync(User, "orig", "taken"))).ErrorId);
        Assert.Equal("BoxNotFound", (await Assert.ThrowsAsync<ShellboxException>(() => flow.DuplicateAsync(User, "nothere", "new"))).ErrorId);
        Assert.Equal("BoxNameInvalid", (await Assert.ThrowsAsync<ShellboxException>(() => flow.DuplicateAsync(User, "orig", "Bad_Name"))).ErrorId);

        // At the user's box quota (shellbox.json quotas.boxes), a copy is refused like any new box.
        await using (var quoted = LocalProvider.CreateEngine(Engine.Settings with { Quotas = new Core.Settings.UserQuotas(Boxes: 2) }, options: golden.Options))
        {
            var quota = await Assert.ThrowsAsync<ShellboxException>(() => new DuplicateFlow(quoted).DuplicateAsync(User, "orig", "third"));
            Assert.Equal("BoxQuotaExceeded", quota.ErrorId);
        }

        var after = await Engine.Store.ReadSnapshotAsync();
        Assert.Equal(before.Boxes.Select(b => (b.Id, b.ETag)), after.Boxes.Select(b => (b.Id, b.ETag)));
        Assert.Equal(before.Volumes.Select(v => (v.Id, v.ETag)), after.Volumes.Select(v => (v.Id, v.ETag)));
        Assert.Equal(other.Box.VolumeId, (await Engine.Store.GetAsync<BoxRecord>(other.Box.Id))!.VolumeId);
    }

    [Fact]
    public async Task A_copy_cut_short_by_a_crash_is_undone_by_reconcile_and_the_source_is_untouched()
    {
        var source = await ConnectAsync("keep");
        await DisconnectAsync(source);
        var sourceVolume = Path.Combine(pool.State, "volumes", source.Box.VolumeId);
        var sourceFiles = Snapshot(sourceVolume);

        // What a duplicate that died mid-copy leaves: both boxes and the copy's volume marked (expired now), a half-written work folder.
        var expired = new TransitionMark(TransitionAct.Duplicate, "dead-holder", DateTimeOffset.UtcNow.AddSeconds(-1));
        var now = DateTimeOffset.UtcNow;
        var kept = (await Engine.Store.GetAsync<BoxRecord>(source.Box.Id))!;
        await Engine.Store.CommitAsync(
        [
            StoreWrite.Insert(new VolumeRecord { Id = "volume-partial", Status = ResourceStatuses.Creating, Created = now, LastUsed = now, Golden = golden.Golden.Version, UserId = User, BoxName = "half", Mark = expired }),
            StoreWrite.Insert(new BoxRecord { Id = BoxRecord.IdFor(User, "half"), UserId = User, BoxName = "half", VolumeId = "volume-partial", Created = now, Mark = expired }),
            StoreWrite.Replace(kept with { Mark = expired }),
        ]);
        var work = Directory.CreateDirectory(Path.Combine(pool.State, "volumes", ".volume-partial.copy-0123")).FullName;
        await File.WriteAllTextAsync(Path.Combine(work, "ram.img"), "half a copy");

        await ReconcileAsync();

        Assert.Null(await Engine.Store.GetAsync<BoxRecord>(BoxRecord.IdFor(User, "half")));
        Assert.Null(await Engine.Store.GetAsync<VolumeRecord>("volume-partial"));
        Assert.False(Directory.Exists(work));
        Assert.Null((await Engine.Store.GetAsync<BoxRecord>(source.Box.Id))!.Mark);
        Assert.Equal(sourceFiles, Snapshot(sourceVolume));
        var back = await ConnectAsync("keep");
        Assert.Equal(Key(source), Key(back));
    }

    [Fact]
    public async Task With_a_keepalive_the_box_keeps_running_after_its_last_session_and_reconcile_suspends_it_when_it_ends()
    {
        var first = await ConnectAsync("bg");
        await RunAsync(first, StartCounter);
        await new KeepaliveFlow(Engine).SetAsync(User, "bg", TimeSpan.FromSeconds(6));

        var outcome = await new DisconnectFlow(Engine).DisconnectAsync(first.Box.Id, first.SessionId);

        Assert.StartsWith("kept alive until", outcome);
        Assert.True(await Engine.Runtime.IsRunningAsync(first.Box.InstanceId!, first.Box.VolumeId));
        await AssertCountingAsync(first); // nobody connected, its background job goes on
        await ReconcileAsync();
        Assert.True(await Engine.Runtime.IsRunningAsync(first.Box.InstanceId!, first.Box.VolumeId)); // not yet ended

        // A connect meanwhile joins the running box.
        var joined = await ConnectAsync("bg");
        Assert.Equal(("joining", first.Box.InstanceId), (joined.Trace.Path, joined.Box.InstanceId));
        await new DisconnectFlow(Engine).DisconnectAsync(joined.Box.Id, joined.SessionId);

        await Task.Delay(TimeSpan.FromSeconds(7));
        var pass = await ReconcileAsync();

        Assert.Contains(pass.Outcomes, o => o.Action is Core.Planning.EndKeepalive && o.Succeeded);
        Assert.False(await Engine.Runtime.IsRunningAsync(first.Box.InstanceId!, first.Box.VolumeId));
        var rested = (await Engine.Store.GetAsync<BoxRecord>(first.Box.Id))!;
        Assert.Equal((null, null, TimeSpan.FromSeconds(6)), (rested.InstanceId, rested.KeptAliveUntil, rested.Keepalive));
    }

    [Fact]
    public async Task Without_a_keepalive_the_last_session_out_still_suspends_and_off_suspends_a_kept_box_at_once()
    {
        var plain = await ConnectAsync("plain");
        Assert.Equal("suspended", await new DisconnectFlow(Engine).DisconnectAsync(plain.Box.Id, plain.SessionId));
        Assert.False(await Engine.Runtime.IsRunningAsync(plain.Box.InstanceId!, plain.Box.VolumeId));

        var kept = await ConnectAsync("kept");
        await new KeepaliveFlow(Engine).SetAsync(User, "kept", TimeSpan.FromHours(1));
        await new DisconnectFlow(Engine).DisconnectAsync(kept.Box.Id, kept.SessionId);
        Assert.True(await Engine.Runtime.IsRunningAsync(kept.Box.InstanceId!, kept.Box.VolumeId));

        var off = await new KeepaliveFlow(Engine).SetAsync(User, "kept", null);

        Assert.Equal(BoxCatalog.Suspended, off.State);
        Assert.False(await Engine.Runtime.IsRunningAsync(kept.Box.InstanceId!, kept.Box.VolumeId));
        var tooLong = await Assert.ThrowsAsync<ShellboxException>(() => new KeepaliveFlow(Engine).SetAsync(User, "kept", TimeSpan.FromHours(5)));
        Assert.Equal(("KeepaliveTooLong", "keepalive 5h is longer than this service allows (4h)."), (tooLong.ErrorId, tooLong.Message));
    }

    [Fact]
    public async Task Duplicate_takes_seconds_for_a_suspended_and_a_running_box()
    {
        var box = await ConnectAsync("timed");
        await RunAsync(box, StartCounter);
        var running = new List<double>();
        for (var i = 0; i < 3; i++)
        {
            running.Add(await TimeAsync(() => new DuplicateFlow(Engine).DuplicateAsync(User, "timed", $"run{i}")));
        }

        await DisconnectAsync(box);
        var suspended = new List<double>();
        for (var i = 0; i < 3; i++)
        {
            suspended.Add(await TimeAsync(() => new DuplicateFlow(Engine).DuplicateAsync(User, "timed", $"rest{i}")));
        }

        output.WriteLine($"duplicate of a running box: p50 {Median(running):0.000} s ({string.Join(", ", running.Select(s => s.ToString("0.000")))})");
        output.WriteLine($"duplicate of a suspended box: p50 {Median(suspended):0.000} s ({string.Join(", ", suspended.Select(s => s.ToString("0.000")))})");
        Assert.True(Median(running) < 10 && Median(suspended) < 10, "a duplicate takes seconds");
    }

    private Task<ReconcileResult> ReconcileAsync() => pool.ReconcileAsync();

    private Task<BoxConnection> ConnectAsync(string name) => pool.ConnectAsync(name);

    private Task DisconnectAsync(BoxConnection connection) => pool.DisconnectAsync(connection);

    private Task<string> RunAsync(BoxConnection connection, string command) => pool.RunAsync(connection, command);

    private Task AssertCountingAsync(BoxConnection connection) => pool.AssertCountingAsync(connection);

    private static string Key(BoxConnection connection) => connection.Endpoint.HostKey.Split(' ', 2)[1];

    /// <summary>Names, sizes and write times of a volume's box files: disk, RAM, device state (meta.json carries tags reconcile may mirror).</summary>
    private static List<(string, long, DateTime)> Snapshot(string volumeFolder) =>
        Directory.EnumerateFiles(volumeFolder).Where(f => Path.GetFileName(f) != "meta.json").Order(StringComparer.Ordinal)
            .Select(f => new FileInfo(f)).Select(f => (f.Name, f.Length, f.LastWriteTimeUtc)).ToList();

    private static async Task<double> TimeAsync(Func<Task> work)
    {
        var clock = Stopwatch.StartNew();
        await work();
        return clock.Elapsed.TotalSeconds;
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
}
