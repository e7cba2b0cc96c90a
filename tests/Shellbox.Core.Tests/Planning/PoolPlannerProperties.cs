using System.Globalization;
using CsCheck;
using Shellbox.Core.Model;
using Shellbox.Core.Planning;
using Shellbox.Core.Ports;

namespace Shellbox.Core.Tests.Planning;

/// <summary>
/// Invariants over generated pool states: ids come from a small set so duplicates, dangling references,
/// ghosts and orphans all turn up; configs pass <see cref="PoolConfig.Validate"/>.
/// </summary>
public sealed class PoolPlannerProperties
{
    private const long Iterations = 3_000;

    private static readonly DateTimeOffset Now = PoolRows.Start;

    private static readonly string[] Statuses =
    [
        ResourceStatuses.Free, ResourceStatuses.Free, ResourceStatuses.Free, ResourceStatuses.Free,
        ResourceStatuses.Connected, ResourceStatuses.Attached, ResourceStatuses.Creating, ResourceStatuses.Deleting, "bogus",
    ];

    private static readonly Gen<DateTimeOffset> Time = Gen.Int[-180, 30].Select(m => Now.AddMinutes(m));

    private static readonly Gen<Lease?> LeaseGen = Gen.Frequency(
        (3, Gen.Const<Lease?>((Lease?)null)),
        (1, Time.Select(t => (Lease?)new Lease("holder", t, "corr"))));

    private static Gen<string?> MaybeId(string prefix) => Gen.Frequency(
        (3, Gen.Const<string?>((string?)null)),
        (1, Gen.Int[0, 9].Select(n => (string?)$"{prefix}{n}")));

    private static readonly Gen<InstanceRecord> InstanceGen =
        from id in Gen.Int[0, 7]
        from status in Gen.OneOfConst(Statuses)
        from created in Time
        from lastUsed in Time
        from volumeId in MaybeId("v")
        from running in Gen.Bool
        from lease in LeaseGen
        select new InstanceRecord
        {
            Id = $"i{id}", Status = status, Created = created, LastUsed = lastUsed,
            VolumeId = volumeId, BoxRunning = running, Lease = lease,
        };

    private static readonly Gen<VolumeRecord> VolumeGen =
        from id in Gen.Int[0, 9]
        from status in Gen.OneOfConst(Statuses)
        from created in Time
        from lastUsed in Time
        from userId in Gen.Frequency((3, Gen.Const<string?>((string?)null)), (1, Gen.Const<string?>("ada")))
        from boxName in Gen.Frequency((4, Gen.Const<string?>((string?)null)), (1, Gen.Const<string?>("dev")))
        from instanceId in MaybeId("i")
        from lease in LeaseGen
        select new VolumeRecord
        {
            Id = $"v{id}", Status = status, Created = created, LastUsed = lastUsed, Golden = "g1",
            UserId = userId, BoxName = boxName, InstanceId = instanceId, Lease = lease,
        };

    private static readonly Gen<BoxRecord> BoxGen =
        from volume in Gen.Int[0, 11]
        from instanceId in MaybeId("i")
        select new BoxRecord
        {
            Id = $"ada.b{volume}", UserId = "ada", BoxName = $"b{volume}", VolumeId = $"v{volume}",
            InstanceId = instanceId, Created = Now.AddDays(-1),
        };

    private static Gen<InventoryItem> ItemGen(string role, string prefix) =>
        from id in Gen.Int[0, 11]
        from created in Gen.Frequency(
            (4, Time.Select(t => (string?)t.ToString("O", CultureInfo.InvariantCulture))),
            (1, Gen.Const<string?>((string?)null)),
            (1, Gen.Const<string?>("not a date")))
        from owned in Gen.Bool
        select new InventoryItem(role, $"{prefix}{id}", Tags(created, owned ? "ada" : null));

    // Mostly what the store holds, with a few rows dropped (ghosts) and a few extra (orphans); sometimes
    // unread, sometimes unrelated to the store altogether.
    private static Gen<Func<IEnumerable<string>, IReadOnlyList<InventoryItem>?>> InventoryGen(string role, string prefix) =>
        from mode in Gen.FrequencyConst((1, "unread"), (1, "random"), (4, "mostly in step"))
        from dropped in Gen.FrequencyConst((1, true), (8, false)).Array[16]
        from extras in ItemGen(role, prefix).List[0, 3]
        from random in ItemGen(role, prefix).List[0, 12]
        select (Func<IEnumerable<string>, IReadOnlyList<InventoryItem>?>)(storeIds => mode switch
        {
            "unread" => null,
            "random" => random,
            _ =>
            [
                .. storeIds.Distinct().Where((_, n) => !dropped[n % dropped.Length])
                    .Select(id => new InventoryItem(role, id, Tags(Now.AddHours(-3).ToString("O", CultureInfo.InvariantCulture), null))),
                .. extras,
            ],
        });

    private static readonly Gen<PoolConfig> ConfigGen =
        from minI in Gen.Int[0, 5]
        from spanI in Gen.Int[0, 4]
        from capI in Gen.Int[0, 6]
        from minV in Gen.Int[0, 6]
        from spanV in Gen.Int[0, 4]
        from capV in Gen.Int[0, 8]
        from check in Gen.Int[1, 600]
        from cooldown in Gen.Int[1, 3600]
        select new PoolConfig
        {
            Name = "Generated",
            MinFreeInstances = minI, MaxFreeInstances = minI + spanI, MaxTotalInstances = minI + spanI + capI,
            MinFreeVolumes = minV, MaxFreeVolumes = minV + spanV, MaxTotalVolumes = minV + spanV + capV,
            CheckInterval = TimeSpan.FromSeconds(check), ScaleDownCooldown = TimeSpan.FromSeconds(cooldown),
        }.Validate();

    private static readonly Gen<FailureHistory?> FailuresGen = Gen.Frequency(
        (1, Gen.Const<FailureHistory?>((FailureHistory?)null)),
        (2, Gen.Select(Gen.Int[0, 9], Time, (n, t) => (FailureHistory?)new FailureHistory(n, t))));

    private static readonly Gen<DateTimeOffset?> MaybeTime = Gen.Frequency(
        (1, Gen.Const<DateTimeOffset?>((DateTimeOffset?)null)),
        (2, Time.Select(t => (DateTimeOffset?)t)));

    private static readonly Gen<PlannerInput> InputGen =
        from instances in InstanceGen.List[0, 10]
        from volumes in VolumeGen.List[0, 14]
        from boxes in BoxGen.List[0, 4]
        from config in ConfigGen
        from instanceInventory in InventoryGen(ResourceRoles.Instance, "i")
        from volumeInventory in InventoryGen(ResourceRoles.Volume, "v")
        from instanceFailures in FailuresGen
        from volumeFailures in FailuresGen
        from lastInstanceScaleDown in MaybeTime
        from lastVolumeScaleDown in MaybeTime
        select new PlannerInput
        {
            Snapshot = new PoolSnapshot(instances, volumes, boxes),
            Config = config,
            Now = Now,
            InstanceInventory = instanceInventory(instances.Select(i => i.Id)),
            VolumeInventory = volumeInventory(volumes.Select(v => v.Id)),
            InstanceFailures = instanceFailures,
            VolumeFailures = volumeFailures,
            LastInstanceScaleDown = lastInstanceScaleDown,
            LastVolumeScaleDown = lastVolumeScaleDown,
        };

    [Fact]
    public void NoPlanCreatesPastMaxTotal() =>
        InputGen.Sample(input =>
        {
            var plan = PoolPlanner.Plan(input);
            foreach (var (role, total, _) in Counts(input))
            {
                Assert.True(plan.Creates(role) <= Math.Max(0, input.Config.For(role).MaxTotal - total), $"{role}: {plan}");
            }
        }, iter: Iterations, print: Print);

    [Fact]
    public void NoPlanCreatesBeyondMinFree() =>
        InputGen.Sample(input =>
        {
            var plan = PoolPlanner.Plan(input);
            foreach (var (role, _, free) in Counts(input))
            {
                Assert.True(plan.Creates(role) <= Math.Max(0, input.Config.For(role).MinFree - free), $"{role}: {plan}");
            }
        }, iter: Iterations, print: Print);

    [Fact]
    public void NoPlanDeletesOrForgetsAClaimedAttachedOwnedBusyOrBoxedResource() =>
        InputGen.Sample(input =>
        {
            var plan = PoolPlanner.Plan(input);
            var (instances, volumes, boxes) = (input.Snapshot.Instances, input.Snapshot.Volumes, input.Snapshot.Boxes);
            foreach (var id in plan.Deleted(ResourceRoles.Instance))
            {
                Assert.All(instances.Where(i => i.Id == id), i =>
                    Assert.True(i.Lease is null && i.Status == ResourceStatuses.Free && i.VolumeId is null && !i.BoxRunning, $"{id}: {plan}"));
                Assert.DoesNotContain(volumes, v => v.InstanceId == id);
                Assert.DoesNotContain(boxes, b => b.InstanceId == id);
            }

            foreach (var id in plan.Deleted(ResourceRoles.Volume))
            {
                Assert.All(volumes.Where(v => v.Id == id), v =>
                    Assert.True(v.Lease is null && v.Status == ResourceStatuses.Free && v.InstanceId is null && v.UserId is null, $"{id}: {plan}"));
                Assert.DoesNotContain(instances, i => i.VolumeId == id);
                Assert.DoesNotContain(boxes, b => b.VolumeId == id);
            }

            // Forgetting a ghost never drops the record of a user's volume.
            foreach (var ghost in plan.Actions.OfType<ForgetGhost>().Where(g => g.Role == ResourceRoles.Volume))
            {
                Assert.All(volumes.Where(v => v.Id == ghost.Id), v => Assert.True(v.UserId is null && v.BoxName is null, $"{ghost.Id}: {plan}"));
                Assert.DoesNotContain(boxes, b => b.VolumeId == ghost.Id);
            }

            // An orphan delete never reaches a row the store knows or a disk tagged for a user.
            foreach (var orphan in plan.Actions.OfType<DeleteOrphan>())
            {
                Assert.DoesNotContain(orphan.Id, instances.Select(i => i.Id).Concat(volumes.Select(v => v.Id)));
                Assert.DoesNotContain(boxes, b => b.VolumeId == orphan.Id || b.InstanceId == orphan.Id);
                Assert.All(
                    input.InventoryFor(orphan.Role)!.Where(item => item.Id == orphan.Id),
                    item => Assert.False(item.Tags.ContainsKey(TagKeys.UserId), $"{orphan.Id}: {plan}"));
            }
        }, iter: Iterations, print: Print);

    [Fact]
    public void NoResourceGetsTwoStateChangingActions() =>
        InputGen.Sample(input =>
        {
            var targets = PoolPlanner.Plan(input).Actions.SelectMany(a => a switch
            {
                PairReadyPair p => [$"instance/{p.InstanceId}", $"volume/{p.VolumeId}"],
                CreateResource or ReportDrift => [],
                DeleteResource d => [$"{d.Role}/{d.Id}"],
                ReclaimLease r => [$"{r.Role}/{r.Id}"],
                ForgetGhost g => [$"{g.Role}/{g.Id}"],
                DeleteOrphan o => [$"{o.Role}/{o.Id}"],
                ResetStuck s => [$"{s.Role}/{s.Id}"],
                MirrorOwner m => [$"{m.Role}/{m.Id}"],
                _ => new[] { "unknown action" },
            }).ToList();

            Assert.Equal(targets.Count, targets.Distinct().Count());
        }, iter: Iterations, print: Print);

    [Fact]
    public void PlanningIsDeterministic() =>
        InputGen.Sample(input =>
        {
            var copy = input with
            {
                Snapshot = new PoolSnapshot([.. input.Snapshot.Instances], [.. input.Snapshot.Volumes], [.. input.Snapshot.Boxes]),
                InstanceInventory = input.InstanceInventory?.ToList(),
                VolumeInventory = input.VolumeInventory?.ToList(),
            };

            var first = PoolPlanner.Plan(input);
            var second = PoolPlanner.Plan(copy);

            Assert.Equal(first, second);
            Assert.Equal(first.ToString(), second.ToString());
        }, iter: Iterations, print: Print);

    [Fact]
    public void PlanningNeverThrowsEvenOnUnvalidatedConfigsAndExtremeTimes() =>
        WildInputGen.Sample(input =>
        {
            var plan = PoolPlanner.Plan(input);

            Assert.Equal(plan, PoolPlanner.Plan(input));
            Assert.NotNull(plan.ToString());
        }, iter: Iterations, print: Print);

    // Bounds stay small enough for a plan to fit in memory; everything else may be nonsense.
    private static readonly Gen<TimeSpan> WildSpan = Gen.OneOf(
        Gen.OneOfConst(TimeSpan.MinValue, TimeSpan.MaxValue, TimeSpan.Zero, TimeSpan.FromTicks(1), TimeSpan.FromTicks(-1)),
        Gen.Int[-100_000, 100_000].Select(s => TimeSpan.FromSeconds(s)));

    private static readonly Gen<DateTimeOffset> WildTime = Gen.OneOf(
        Gen.OneOfConst(DateTimeOffset.MinValue, DateTimeOffset.MaxValue, new DateTimeOffset(9999, 12, 31, 9, 0, 0, TimeSpan.FromHours(-14)), new DateTimeOffset(1, 1, 1, 14, 0, 0, TimeSpan.FromHours(14))),
        Time);

    private static readonly Gen<PlannerInput> WildInputGen =
        from input in InputGen
        from bounds in Gen.Int[-1_000, 1_000].Array[6]
        from check in WildSpan
        from cooldown in WildSpan
        from now in WildTime
        from failure in WildTime
        from count in Gen.OneOfConst(int.MinValue, -1, 3, 64, int.MaxValue)
        from lastScaleDown in WildTime
        from nulls in Gen.Bool
        select input with
        {
            Now = now,
            Config = input.Config with
            {
                MinFreeInstances = bounds[0], MaxFreeInstances = bounds[1], MaxTotalInstances = bounds[2],
                MinFreeVolumes = bounds[3], MaxFreeVolumes = bounds[4], MaxTotalVolumes = bounds[5],
                CheckInterval = check, ScaleDownCooldown = cooldown,
            },
            InstanceFailures = new FailureHistory(count, failure),
            LastVolumeScaleDown = lastScaleDown,
            Snapshot = nulls
                ? new PoolSnapshot([.. input.Snapshot.Instances, null!], [null!, .. input.Snapshot.Volumes], [.. input.Snapshot.Boxes, null!])
                : input.Snapshot,
            VolumeInventory = nulls
                ? [.. input.VolumeInventory ?? [], null!, new InventoryItem(ResourceRoles.Volume, "v-untagged", null!)]
                : input.VolumeInventory,
        };

    private static IEnumerable<(string Role, int Total, int Free)> Counts(PlannerInput input)
    {
        yield return (ResourceRoles.Instance, input.Snapshot.Instances.Count, input.Snapshot.Instances.Count(i => i.IsFree));
        yield return (ResourceRoles.Volume, input.Snapshot.Volumes.Count, input.Snapshot.Volumes.Count(v => v.IsFree));
    }

    private static Dictionary<string, string> Tags(string? created, string? userId)
    {
        var tags = new Dictionary<string, string>();
        if (created is not null)
        {
            tags[TagKeys.Created] = created;
        }

        if (userId is not null)
        {
            tags[TagKeys.UserId] = userId;
        }

        return tags;
    }

    // A failing case prints as rows a reader can rebuild by hand, not as nested record dumps.
    private static string Print(PlannerInput input)
    {
        static string Lease(Lease? l) => l is null ? "" : $" lease<{l.ExpiresAt:HH:mm}";
        static string Items(IReadOnlyList<InventoryItem>? items) => items is null
            ? "not read"
            : string.Join(", ", items.Where(i => i is not null).Select(i => $"{i.Id}{string.Concat((i.Tags ?? new Dictionary<string, string>()).Select(t => $" {t.Key}={t.Value}"))}"));

        var s = input.Snapshot;
        return string.Join(Environment.NewLine,
        [
            $"now {input.Now:O}, config {input.Config}",
            $"failures i={input.InstanceFailures} v={input.VolumeFailures}, last scale-down i={input.LastInstanceScaleDown:O} v={input.LastVolumeScaleDown:O}",
            .. s.Instances.Where(i => i is not null).Select(i => $"  {i.Id} {i.Status} used {i.LastUsed:HH:mm} vol={i.VolumeId} running={i.BoxRunning}{Lease(i.Lease)}"),
            .. s.Volumes.Where(v => v is not null).Select(v => $"  {v.Id} {v.Status} used {v.LastUsed:HH:mm} inst={v.InstanceId} user={v.UserId} box={v.BoxName}{Lease(v.Lease)}"),
            .. s.Boxes.Where(b => b is not null).Select(b => $"  box {b.Id} vol={b.VolumeId} inst={b.InstanceId}"),
            $"  instance inventory: {Items(input.InstanceInventory)}",
            $"  volume inventory: {Items(input.VolumeInventory)}",
        ]);
    }
}
