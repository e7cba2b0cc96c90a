using System.Globalization;
using Shellbox.Core.Lifecycle;
using Shellbox.Core.Model;
using Shellbox.Core.Ports;

namespace Shellbox.Core.Planning;

/// <summary>
/// The pure, total middle of reconcile: one snapshot of store and inventory in, one <see cref="PoolPlan"/>
/// out. It reads no clock, makes no names and never throws; the executor carries the plan out.
/// </summary>
public static class PoolPlanner
{
    /// <summary>How long a creator may still be working on a resource before reconcile repairs it.</summary>
    public static readonly TimeSpan GracePeriod = TimeSpan.FromMinutes(10);

    private static readonly IReadOnlyDictionary<string, string> NoTags = new Dictionary<string, string>();

    public static PoolPlan Plan(PlannerInput input)
    {
        // Weird rows (nulls from a hand-built snapshot) are skipped rather than thrown on.
        var snapshot = input.Snapshot ?? PoolSnapshot.Empty;
        var instances = (snapshot.Instances ?? []).OfType<InstanceRecord>().Where(r => r.Id is not null).ToList();
        var volumes = (snapshot.Volumes ?? []).OfType<VolumeRecord>().Where(r => r.Id is not null).ToList();
        var boxes = (snapshot.Boxes ?? []).OfType<BoxRecord>().ToList();

        // A row another row points at is in use, whatever its own fields say.
        var instanceRefs = volumes.Select(v => v.InstanceId).Concat(boxes.Select(b => b.InstanceId))
            .OfType<string>().ToHashSet(StringComparer.Ordinal);
        var volumeRefs = instances.Select(i => i.VolumeId).Concat(boxes.Select(b => (string?)b.VolumeId))
            .OfType<string>().ToHashSet(StringComparer.Ordinal);
        var boxVolumes = boxes.Select(b => (string?)b.VolumeId).OfType<string>().ToHashSet(StringComparer.Ordinal);

        var instanceRows = instances.Select(i => new Row(
            ResourceRoles.Instance, i.Id, i.Status, i.Created, i.LastUsed, i.Lease, i.Mark, i.IsFree,
            IsLoose: i.IsFree && i.VolumeId is null && !i.BoxRunning && !instanceRefs.Contains(i.Id),
            HoldsUserData: false)).ToList();
        var volumeRows = volumes.Select(v => new Row(
            ResourceRoles.Volume, v.Id, v.Status, v.Created, v.LastUsed, v.Lease, v.Mark, v.IsFree,
            IsLoose: v.IsFree && v.InstanceId is null && v.BoxName is null && !volumeRefs.Contains(v.Id),
            HoldsUserData: v.IsOwned || v.BoxName is not null || boxVolumes.Contains(v.Id))).ToList();

        var instancePass = PlanRole(ResourceRoles.Instance, instanceRows, instanceRefs, input);
        var volumePass = PlanRole(ResourceRoles.Volume, volumeRows, volumeRefs, input);
        // Half the minimum of free instances (rounded down) stays bare, so a returning box attaches with one provider
        // call instead of breaking up a ready pair first; the other spare instances become ready pairs for new boxes.
        var pairs = instancePass.Spare.Skip(input.Config.MinFreeInstances / 2).Zip(volumePass.Spare, (i, v) => new PairReadyPair(i.Id, v.Id));

        var actions = new List<PlanAction>();
        actions.AddRange(BoxRepairs(boxes, input.Now));
        actions.AddRange(DeadPairs(instances, volumes, boxes, input.InstanceInventory));
        var keepaliveEnds = KeepaliveEnds(boxes, input.Now).ToList();
        var keptInstances = keepaliveEnds.Select(k => k.InstanceId).ToHashSet(StringComparer.Ordinal);
        actions.AddRange(keepaliveEnds);
        actions.AddRange(instancePass.Repairs.Where(a => !(a is ReclaimLease r && keptInstances.Contains(r.Id))));
        actions.AddRange(volumePass.Repairs);
        actions.AddRange(instancePass.Deletes);
        actions.AddRange(volumePass.Deletes);
        actions.AddRange(pairs);
        actions.AddRange(Enumerable.Repeat(new CreateResource(ResourceRoles.Instance), instancePass.Creates));
        actions.AddRange(Enumerable.Repeat(new CreateResource(ResourceRoles.Volume), volumePass.Creates));
        var touched = actions.OfType<PlanAction>().SelectMany(Targets).ToHashSet(StringComparer.Ordinal);
        actions.AddRange(OwnerMirrors(volumes, input.VolumeInventory, input.Now).Where(m => !touched.Contains($"{m.Role}/{m.Id}")));
        return new PoolPlan(actions, [.. instancePass.Notes, .. volumePass.Notes]);
    }

    /// <summary>Boxes whose transition mark has expired, one repair each (the newest row of a duplicated id).</summary>
    private static IEnumerable<RepairTransition> BoxRepairs(IReadOnlyList<BoxRecord> boxes, DateTimeOffset now) =>
        boxes.Where(b => b.Id is not null && b.Mark is { } mark && mark.IsExpired(now))
            .DistinctBy(b => b.Id).OrderBy(b => b.Id, StringComparer.Ordinal)
            .Select(b => new RepairTransition(b.Id, b.Mark!.Act, b.Mark.Owner ?? string.Empty));

    /// <summary>Ready pairs (no box bound to either half) whose box the instance inventory lists as not running.</summary>
    private static IEnumerable<RetireDeadPair> DeadPairs(
        IReadOnlyList<InstanceRecord> instances, IReadOnlyList<VolumeRecord> volumes, IReadOnlyList<BoxRecord> boxes, IReadOnlyList<InventoryItem>? inventory)
    {
        if (inventory is null)
        {
            yield break;
        }

        // Every listing of the id must say stopped: a provider that lists one id twice and is unsure keeps the pair.
        var stopped = inventory.OfType<InventoryItem>().Where(i => i.Id is not null).GroupBy(i => i.Id, StringComparer.Ordinal)
            .Where(g => g.All(i => i.BoxRunning == false)).Select(g => g.Key).ToHashSet(StringComparer.Ordinal);
        var bound = boxes.SelectMany(b => new[] { b.InstanceId, b.VolumeId }).OfType<string>().ToHashSet(StringComparer.Ordinal);
        foreach (var instance in instances.DistinctBy(i => i.Id).OrderBy(i => i.Id, StringComparer.Ordinal))
        {
            var volume = volumes.FirstOrDefault(v => v.Id == instance.VolumeId);
            if (stopped.Contains(instance.Id) && volume is not null && ReadyPair.IsPair(instance, volume) && !bound.Contains(instance.Id) && !bound.Contains(volume.Id))
            {
                yield return new RetireDeadPair(instance.Id, volume.Id);
            }
        }
    }

    /// <summary>Boxes kept running by a keepalive that has run out with no live session (and no transition on them).</summary>
    private static IEnumerable<EndKeepalive> KeepaliveEnds(IReadOnlyList<BoxRecord> boxes, DateTimeOffset now) =>
        boxes.Where(b => b.Id is not null && b is { InstanceId: not null, Mark: null, KeptAliveUntil: { } until } && until <= now
                && (b.Sessions ?? []).All(s => s is null || s.ExpiresAt <= now))
            .DistinctBy(b => b.Id).OrderBy(b => b.Id, StringComparer.Ordinal)
            .Select(b => new EndKeepalive(b.Id, b.InstanceId!, b.KeptAliveUntil!.Value));

    /// <summary>
    /// Owned volumes at rest or attached whose listed userid tag differs from the store (the store is the
    /// truth; tags are its mirror, and the provider's safety nets read them).
    /// </summary>
    private static IEnumerable<MirrorOwner> OwnerMirrors(IReadOnlyList<VolumeRecord> volumes, IReadOnlyList<InventoryItem>? inventory, DateTimeOffset now)
    {
        if (inventory is null)
        {
            yield break;
        }

        var listed = inventory.OfType<InventoryItem>().Where(i => i.Id is not null)
            .GroupBy(i => i.Id, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        foreach (var volume in volumes.DistinctBy(v => v.Id).OrderBy(v => v.Id, StringComparer.Ordinal))
        {
            var settled = volume.Status is ResourceStatuses.Attached or ResourceStatuses.Suspended;
            var leased = volume.Lease is { } lease && !lease.IsExpired(now);
            if (volume.UserId is { } owner && settled && !leased && listed.TryGetValue(volume.Id, out var items)
                && !items.Any(i => (i.Tags ?? NoTags).Any(t => string.Equals(t.Key, TagKeys.UserId, StringComparison.OrdinalIgnoreCase) && t.Value == owner)))
            {
                yield return new MirrorOwner(volume.Id, owner);
            }
        }
    }

    /// <summary>The resources an action touches, as role/id.</summary>
    private static IEnumerable<string> Targets(PlanAction action) => action switch
    {
        PairReadyPair a => [$"{ResourceRoles.Instance}/{a.InstanceId}", $"{ResourceRoles.Volume}/{a.VolumeId}"],
        RetireDeadPair a => [$"{ResourceRoles.Instance}/{a.InstanceId}", $"{ResourceRoles.Volume}/{a.VolumeId}"],
        DeleteResource a => [$"{a.Role}/{a.Id}"],
        ReclaimLease a => [$"{a.Role}/{a.Id}"],
        ForgetGhost a => [$"{a.Role}/{a.Id}"],
        DeleteOrphan a => [$"{a.Role}/{a.Id}"],
        ReportDrift a => [$"{a.Role}/{a.Id}"],
        ResetStuck a => [$"{a.Role}/{a.Id}"],
        RepairTransition a => [$"{a.Role}/{a.Id}"],
        EndKeepalive a => [$"{a.Role}/{a.Id}", $"{ResourceRoles.Instance}/{a.InstanceId}"],
        _ => [],
    };

    private static RolePass PlanRole(string role, IReadOnlyList<Row> rows, IReadOnlySet<string> referenced, PlannerInput input)
    {
        var now = input.Now;
        var config = input.Config;
        var notes = new List<PlanNote>();
        var inventory = input.InventoryFor(role)?.OfType<InventoryItem>().Where(i => i.Id is not null).ToList();
        var present = inventory?.Select(i => i.Id).ToHashSet(StringComparer.Ordinal);
        if (inventory is null)
        {
            notes.Add(new(role, "inventory not read this pass: drift not checked"));
        }

        // Store keys are unique, but a duplicated id must not hide that one of its rows is a user's.
        var userData = rows.Where(r => r.HoldsUserData).Select(r => r.Id).ToHashSet(StringComparer.Ordinal);
        var repairs = rows.OrderBy(r => r.Id, StringComparer.Ordinal).DistinctBy(r => r.Id)
            .Select(r => Repair(r with { HoldsUserData = userData.Contains(r.Id) }, present, now)).OfType<PlanAction>().ToList();
        if (inventory is not null)
        {
            var known = rows.Select(r => r.Id).ToHashSet(StringComparer.Ordinal);
            repairs.AddRange(Orphans(role, inventory, known, referenced, now));
        }

        // Ghosts are being forgotten: they neither justify a scale-down nor get paired.
        var live = present is null ? rows : rows.Where(r => present.Contains(r.Id)).ToList();
        var pinned = rows.Where(r => !r.IsLoose).Select(r => r.Id).ToHashSet(StringComparer.Ordinal);
        var loose = live.Where(r => r.IsLoose && !pinned.Contains(r.Id)).DistinctBy(r => r.Id).ToList();

        var bounds = config.For(role);
        var deletes = ScaleDown(role, bounds, live, loose, input, notes);
        var deleted = deletes.Select(d => d.Id).ToHashSet(StringComparer.Ordinal);
        var spare = loose.Where(r => !deleted.Contains(r.Id))
            .OrderBy(r => r.Created).ThenBy(r => r.Id, StringComparer.Ordinal).ToList();

        return new RolePass(repairs, deletes, spare, ScaleUp(role, bounds, rows, input, notes), notes);
    }

    private static PlanAction? Repair(Row row, IReadOnlySet<string>? present, DateTimeOffset now)
    {
        var liveLease = row.Lease is { } held && !held.IsExpired(now) ? held : null;
        if (present is not null && !present.Contains(row.Id))
        {
            var lastSign = row.Created > row.LastUsed ? row.Created : row.LastUsed;
            if (row.Status == ResourceStatuses.Creating && now - lastSign < GracePeriod)
            {
                return null; // a creator may still be waiting for the provider to list it
            }

            if (liveLease is not null)
            {
                return new ReportDrift(row.Role, row.Id,
                    $"gone from the provider while leased by '{liveLease.Holder}' until {liveLease.ExpiresAt:O}: left to its holder");
            }

            // One missed listing must not cost a user the record of their box.
            return row.HoldsUserData
                ? new ReportDrift(row.Role, row.Id, "holds a user's box but is gone from the provider: not forgotten, needs an operator")
                : new ForgetGhost(row.Role, row.Id);
        }

        // A transitional row is stuck once its mark expires; a row from before marks, after the grace period.
        // A removal's or a duplicate's volume is repaired with its box (RepairTransition), never reset on its own.
        var transitional = row.Status is ResourceStatuses.Creating or ResourceStatuses.Deleting;
        var stuck = row.Mark is { } mark ? mark.IsExpired(now) : now - row.LastUsed >= GracePeriod;
        if (present is not null && transitional && liveLease is null && stuck && row.Mark?.Act is not (TransitionAct.Remove or TransitionAct.Duplicate))
        {
            return new ResetStuck(row.Role, row.Id);
        }

        return row.Lease is { } lease && lease.IsExpired(now) ? new ReclaimLease(row.Role, row.Id) : null;
    }

    private static IEnumerable<PlanAction> Orphans(
        string role, IReadOnlyList<InventoryItem> inventory, IReadOnlySet<string> known, IReadOnlySet<string> referenced, DateTimeOffset now)
    {
        // A provider may list one id twice; the most protective reading of its tags wins.
        var unknown = inventory.Where(i => !known.Contains(i.Id)).GroupBy(i => i.Id, StringComparer.Ordinal);
        foreach (var listed in unknown.OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var id = listed.Key;

            // The golden snapshot may be listed next to volumes; it is never an orphan.
            if (id.StartsWith(ShellboxLimits.GoldenSnapshotPrefix, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var tags = listed.Select(i => i.Tags ?? NoTags).ToList();
            var created = tags.Select(CreatedAt).ToList();
            if (tags.Select(Owner).FirstOrDefault(o => o is not null) is { } user)
            {
                yield return new ReportDrift(role, id, $"not in the store but tagged for user '{user}': never deleted, needs an operator");
            }
            else if (referenced.Contains(id))
            {
                yield return new ReportDrift(role, id, "not in the store but the store still refers to it: left alone");
            }
            else if (created.Any(c => c is null))
            {
                yield return new ReportDrift(role, id, $"not in the store and has no readable {TagKeys.Created} tag: left alone");
            }
            else if (created.All(c => now - c!.Value >= GracePeriod))
            {
                yield return new DeleteOrphan(role, id);
            }

            // Younger than the grace period: its creator may not have written the store row yet.
        }
    }

    private static List<DeleteResource> ScaleDown(
        string role, PoolBounds bounds, IReadOnlyList<Row> live, IReadOnlyList<Row> loose, PlannerInput input, List<PlanNote> notes)
    {
        var free = live.Where(r => r.IsFree).Select(r => r.Id).Distinct(StringComparer.Ordinal).Count();
        var maxFree = Math.Max(bounds.MaxFree, bounds.MinFree);
        if (free <= maxFree)
        {
            return [];
        }

        var cooldown = input.Config.ScaleDownCooldown;
        if (input.LastScaleDownFor(role) is { } last && input.Now - last < cooldown)
        {
            notes.Add(new(role, $"{free} free, above max free {maxFree}: scale-down waits for its cooldown until {SaturatingTime.Add(last, cooldown):O}"));
            return [];
        }

        var excess = free - maxFree;
        var deletes = loose.OrderBy(r => r.LastUsed).ThenBy(r => r.Id, StringComparer.Ordinal).Take(excess)
            .Select(r => new DeleteResource(role, r.Id, $"{free} free, above max free {maxFree}; least recently used first"))
            .ToList();
        if (deletes.Count < excess)
        {
            notes.Add(new(role, $"{free} free, above max free {maxFree}: only {deletes.Count} can be deleted, the rest are attached or in use"));
        }

        return deletes;
    }

    private static int ScaleUp(string role, PoolBounds bounds, IReadOnlyList<Row> rows, PlannerInput input, List<PlanNote> notes)
    {
        // Long arithmetic: an unvalidated config may hold int.MinValue.
        long free = rows.Count(r => r.IsFree);
        long total = rows.Count;
        var wanted = Math.Max(0L, bounds.MinFree - free);
        var room = Math.Max(0L, bounds.MaxTotal - total);
        if (wanted == 0)
        {
            return 0;
        }

        var failures = input.FailuresFor(role);
        if (failures.BackOffUntil(input.Config.CheckInterval) is { } until && input.Now < until)
        {
            notes.Add(new(role, $"backing off creates until {until:O} after {failures.ConsecutiveFailures} consecutive failures"));
            return 0;
        }

        if (room < wanted)
        {
            notes.Add(new(role, $"{total} of max total {bounds.MaxTotal}: creating {room} of the {wanted} needed for min free {bounds.MinFree}"));
        }

        return (int)Math.Min(wanted, room);
    }

    /// <summary>An instance or volume row seen the same way by every rule.</summary>
    /// <param name="IsLoose">Free and tied to nothing (no lease, attachment, owner or box): may be deleted or paired.</param>
    private sealed record Row(
        string Role, string Id, string Status, DateTimeOffset Created, DateTimeOffset LastUsed, Lease? Lease, TransitionMark? Mark,
        bool IsFree, bool IsLoose, bool HoldsUserData);

    private sealed record RolePass(
        IReadOnlyList<PlanAction> Repairs, IReadOnlyList<DeleteResource> Deletes, IReadOnlyList<Row> Spare, int Creates, IReadOnlyList<PlanNote> Notes);

    // Azure tag names are case-insensitive; the mere presence of a userid tag marks user data.
    private static string? Owner(IReadOnlyDictionary<string, string> tags) =>
        TryGetTag(tags, TagKeys.UserId, out var user) ? user ?? string.Empty : null;

    private static DateTimeOffset? CreatedAt(IReadOnlyDictionary<string, string> tags) =>
        TryGetTag(tags, TagKeys.Created, out var stamp)
        && DateTimeOffset.TryParse(stamp, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var created)
            ? created
            : null;

    private static bool TryGetTag(IReadOnlyDictionary<string, string> tags, string key, out string? value)
    {
        foreach (var tag in tags)
        {
            if (string.Equals(tag.Key, key, StringComparison.OrdinalIgnoreCase))
            {
                value = tag.Value;
                return true;
            }
        }

        value = null;
        return false;
    }
}
