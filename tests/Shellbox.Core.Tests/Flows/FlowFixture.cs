using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using Shellbox.Core.Boxes;
using Shellbox.Core.Engine;
using Shellbox.Core.Model;
using Shellbox.Core.Ports;
using Shellbox.Core.Settings;
using Shellbox.Core.Store;
using Shellbox.Local.Store;

namespace Shellbox.Core.Tests.Flows;

/// <summary>
/// One engine per test: a real SQLite store in a private temp folder, a fake clock, sequential ids and the
/// recording fakes. Seeding helpers write the store and the fakes directly, recording no calls.
/// </summary>
public sealed class FlowFixture : IAsyncDisposable
{
    public const string User = "alice";

    public static readonly DateTimeOffset Start = new(2030, 1, 1, 8, 0, 0, TimeSpan.Zero);

    public static readonly GoldenSnapshotInfo Golden = new($"{ShellboxLimits.GoldenSnapshotPrefix}-test", "/golden", Start.AddDays(-1));

    private readonly string folder;
    private int seeded;

    private FlowFixture(TimeSpan linger, PoolConfig? pool)
    {
        folder = Directory.CreateTempSubdirectory("shellbox-flows-").FullName;
        Sqlite = SqlitePoolStore.Open(Path.Combine(folder, "pool.db"));
        Counting = new CountingStore(Sqlite);
        Store = new HookedStore(Counting);
        Infra = new FakeInfrastructure { Golden = Golden };
        Runtime = new FakeBoxRuntime(Infra);
        Infra.BoxRunsOn = Runtime.RunsOn;
        Settings = new ShellboxSettings { Provider = ShellboxSettings.LocalProvider, StateDirectory = folder, Pool = pool ?? PoolConfig.Dev, Linger = linger };
        Engine = new ShellboxEngine(Settings, Store, Infra, Runtime, Time, Ids);
    }

    public FakeTimeProvider Time { get; } = new(Start);

    public SequentialIds Ids { get; } = new();

    public SqlitePoolStore Sqlite { get; }

    /// <summary>Counts the rows the engine reads (below the hook, so seeding through <see cref="Store"/> counts too: reset first).</summary>
    public CountingStore Counting { get; }

    /// <summary>The real store, with a hook before each commit to interleave a concurrent caller.</summary>
    public HookedStore Store { get; }

    public FakeInfrastructure Infra { get; }

    public FakeBoxRuntime Runtime { get; }

    public ShellboxSettings Settings { get; }

    public ShellboxEngine Engine { get; }

    public ConnectFlow Connect => new(Engine);

    public DisconnectFlow Disconnect => new(Engine);

    public BoxCatalog Catalog => new(Engine);

    public PoolReconciler Reconciler => new(Engine);

    public static FlowFixture Create(TimeSpan? linger = null, PoolConfig? pool = null) => new(linger ?? TimeSpan.Zero, pool);

    public static string BoxId(string box) => BoxRecord.IdFor(User, box);

    /// <summary>A free instance with a free volume attached and its box resumed.</summary>
    public async Task<(string Instance, string Volume)> AddReadyPairAsync()
    {
        var (instance, volume) = (NextId("ready-i"), NextId("ready-v"));
        await Store.CommitAsync(
        [
            StoreWrite.Insert(new InstanceRecord { Id = instance, Status = ResourceStatuses.Free, Created = Start, LastUsed = Start, VolumeId = volume, BoxRunning = true, Endpoint = "127.0.0.1:2222" }),
            StoreWrite.Insert(new VolumeRecord { Id = volume, Status = ResourceStatuses.Free, Created = Start, LastUsed = Start, Golden = Golden.Version, InstanceId = instance }),
        ]);
        Infra.Seed(ResourceRoles.Instance, instance, Start);
        Infra.Seed(ResourceRoles.Volume, volume, Start);
        Infra.SeedAttachment(instance, volume);
        Runtime.SeedRunning(instance, volume);
        return (instance, volume);
    }

    /// <summary>A free instance with nothing attached.</summary>
    public async Task<string> AddInstanceAsync()
    {
        var id = NextId("loose-i");
        await Store.InsertAsync(new InstanceRecord { Id = id, Status = ResourceStatuses.Free, Created = Start, LastUsed = Start, Endpoint = "127.0.0.1:2222" });
        Infra.Seed(ResourceRoles.Instance, id, Start);
        return id;
    }

    /// <summary>A free golden clone attached nowhere.</summary>
    public async Task<string> AddVolumeAsync()
    {
        var id = NextId("loose-v");
        await Store.InsertAsync(new VolumeRecord { Id = id, Status = ResourceStatuses.Free, Created = Start, LastUsed = Start, Golden = Golden.Version });
        Infra.Seed(ResourceRoles.Volume, id, Start);
        return id;
    }

    public void ClearCalls()
    {
        Infra.Log.Clear();
        Runtime.Clear();
    }

    public Task<T?> GetAsync<T>(string id)
        where T : StoreRecord => Store.GetAsync<T>(id);

    public async Task<BoxRecord> BoxAsync(string box) =>
        await Store.GetAsync<BoxRecord>(BoxId(box)) ?? throw new Xunit.Sdk.XunitException($"box {box} is not in the store");

    public async Task<InstanceRecord> InstanceAsync(string id) =>
        await Store.GetAsync<InstanceRecord>(id) ?? throw new Xunit.Sdk.XunitException($"instance {id} is not in the store");

    public async Task<VolumeRecord> VolumeAsync(string id) =>
        await Store.GetAsync<VolumeRecord>(id) ?? throw new Xunit.Sdk.XunitException($"volume {id} is not in the store");

    /// <summary>Every row with its version: equal before and after means the store did not change.</summary>
    public async Task<IReadOnlyList<string>> RowsAsync()
    {
        var s = await Store.ReadSnapshotAsync();
        return [.. s.Instances.Select(Row), .. s.Volumes.Select(Row), .. s.Boxes.Select(Row)];

        static string Row(StoreRecord r) => $"{r.Key}@{r.ETag}";
    }

    /// <summary>Advances the fake clock in small steps until <paramref name="task"/> ends (a flow waiting on the clock).</summary>
    public async Task<T> DriveAsync<T>(Task<T> task, TimeSpan? step = null)
    {
        for (var i = 0; !task.IsCompleted && i < 5000; i++)
        {
            Time.Advance(step ?? TimeSpan.FromMilliseconds(100));
            await Task.WhenAny(task, Task.Delay(1));
        }

        return await task;
    }

    /// <summary>
    /// What must hold between flows: a box, its instance and its volume agree; no instance or volume serves
    /// two boxes; the provider's attachments are the store's; a free instance runs nothing foreign.
    /// </summary>
    public async Task AssertConsistentAsync()
    {
        var s = await Store.ReadSnapshotAsync();
        Assert.Equal(s.Boxes.Count, s.Boxes.Select(b => b.VolumeId).Distinct().Count());
        var attachedBoxes = s.Boxes.Where(b => b.InstanceId is not null).ToList();
        Assert.Equal(attachedBoxes.Count, attachedBoxes.Select(b => b.InstanceId).Distinct().Count());
        foreach (var box in s.Boxes)
        {
            var volume = Assert.Single(s.Volumes, v => v.Id == box.VolumeId);
            Assert.Equal((box.UserId, box.BoxName), (volume.UserId!, volume.BoxName!));
            Assert.Equal(box.InstanceId, volume.InstanceId);
            if (box.InstanceId is { } i)
            {
                Assert.Equal(box.VolumeId, Assert.Single(s.Instances, x => x.Id == i).VolumeId);
            }
            else
            {
                Assert.Equal(ResourceStatuses.Suspended, volume.Status);
            }
        }

        foreach (var instance in s.Instances)
        {
            Assert.Equal(instance.VolumeId, Infra.AttachedTo(instance.Id));
            if (instance.VolumeId is { } v)
            {
                Assert.Equal(instance.Id, Assert.Single(s.Volumes, x => x.Id == v).InstanceId);
            }

            Assert.Equal(instance.BoxRunning, instance.VolumeId is { } running && Runtime.IsRunning(instance.Id, running));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Engine.DisposeAsync();
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
            // Never fail a test on cleanup.
        }
    }

    private string NextId(string prefix) => $"{prefix}{Interlocked.Increment(ref seeded)}";
}

/// <summary>Helpers for concurrent callers and expected failures.</summary>
public static class Flow
{
    /// <summary>Starts <paramref name="count"/> callers on the thread pool at (nearly) the same moment.</summary>
    public static Task<T>[] StartTogether<T>(int count, Func<int, Task<T>> work)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var tasks = Enumerable.Range(0, count).Select(i => Task.Run(async () =>
        {
            await gate.Task;
            return await work(i);
        })).ToArray();
        gate.SetResult();
        return tasks;
    }

    /// <summary>True for the first caller only, across threads: a hook fires once even if its rival reaches it first.</summary>
    public sealed class Once
    {
        private int taken;

        public bool Take() => Interlocked.Exchange(ref taken, 1) == 0;
    }

    /// <summary>The outcome of a call: its result or the exception it ended with.</summary>
    public static async Task<(T? Result, Exception? Error)> TryAsync<T>(Task<T> task)
        where T : class
    {
        try
        {
            return (await task, null);
        }
        catch (Exception e)
        {
            return (null, e);
        }
    }

    public static async Task<Errors.ShellboxException> FailsWithAsync(string errorId, Func<Task> call)
    {
        var e = await Assert.ThrowsAnyAsync<Errors.ShellboxException>(call);
        Assert.True(errorId == e.ErrorId, $"expected {errorId}, got {e.ErrorId}: {e.Message}");
        return e;
    }
}
