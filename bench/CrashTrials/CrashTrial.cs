using System.Diagnostics;
using Shellbox.Core.Boxes;
using Shellbox.Core.Engine;
using Shellbox.Core.Lifecycle;
using Shellbox.Core.Model;

namespace Shellbox.CrashTrials;

/// <summary>
/// One crash trial at one <see cref="CrashPoints"/> step: build a small pool with a box holding a synced file,
/// run the act of the step in a child process armed to kill itself there, run ONE reconcile after every mark and
/// lease has expired, then check: nothing leaked or stuck, no double claim, the file intact, and the pool still serves
/// (a new box resumes from a ready pair, not booted cold).
/// </summary>
/// <param name="recoverAfter">How long after the crash the recovery reconcile runs (default <see cref="RecoveryShift"/>); a
/// shorter time, before the marks expire, shows the checks catching what is left.</param>
/// <param name="checkServes">Whether to check the pool still serves after the recovery (the CI test asks it only where a
/// ready pair is at stake, to keep the suite short; the bench always does).</param>
public sealed class CrashTrial(TrialSetup setup, string point, TimeSpan? recoverAfter = null, bool checkServes = true)
{
    /// <summary>How far ahead of the crash the recovery reconcile runs: past every mark, lease and the reconcile lock (15 min).</summary>
    public static readonly TimeSpan RecoveryShift = TimeSpan.FromMinutes(16);

    private const string Marker = "/root/crash-marker";
    private const string Kept = "dev1";
    private const string Removed = "dev2";
    private const string Made = "dev3";
    private const string Served = "dev5";

    /// <summary>The act a step belongs to, and the box it acts on.</summary>
    public static (string Act, string? Box) ActOf(string point) => point switch
    {
        CrashPoints.AfterClaim or CrashPoints.AfterAttach or CrashPoints.DuringResume => (ChildAct.Connect, Kept),
        CrashPoints.DuringSuspend => (ChildAct.Disconnect, Kept),
        CrashPoints.DuringCreate => (ChildAct.Reconcile, null),
        CrashPoints.DuringDelete => (ChildAct.Remove, Removed),
        CrashPoints.DuringMake => (ChildAct.Connect, Made), // a new box: the pool has a free instance but no volume
        CrashPoints.DuringDuplicate => (ChildAct.Duplicate, Kept), // dev1 at rest, copied into dev4
        CrashPoints.DuringRetire => (ChildAct.Reconcile, null), // a ready pair whose QEMU died with the host
        CrashPoints.DuringPair => (ChildAct.Reconcile, null), // the host dies with the child: the new pair's box is gone
        _ => throw new ArgumentOutOfRangeException(nameof(point), point, "Not a crash point."),
    };

    public async Task<TrialOutcome> RunAsync(string childDll, CancellationToken cancellationToken = default)
    {
        var token = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));
        var session = await PrepareAsync(token, cancellationToken).ConfigureAwait(false);
        var (act, box) = ActOf(point);
        var killed = await RunChildAsync(childDll, act, box, session, cancellationToken).ConfigureAwait(false);
        if (point == CrashPoints.DuringPair)
        {
            // The whole host stops, not only the reconcile: the clone's box, just resumed, dies with its saved state consumed.
            await KillEveryQemuAsync(setup.StateDirectory).ConfigureAwait(false);
        }

        var problems = new List<string>();
        await using var engine = setup.Engine(new ShiftedTime(recoverAfter ?? RecoveryShift));
        var pass = await new PoolReconciler(engine).ReconcileAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        if (pass.Skipped)
        {
            problems.Add("the recovery reconcile was skipped (lock held)");
        }

        problems.AddRange(pass.Outcomes.Where(o => !o.Succeeded).Select(o => $"reconcile: {o.Message}"));
        var snapshot = await engine.Store.ReadSnapshotAsync(cancellationToken).ConfigureAwait(false);
        var leaked = await LeaksAsync(engine, snapshot, problems, cancellationToken).ConfigureAwait(false);
        var stuck = Stuck(snapshot, engine.Time.GetUtcNow(), problems);
        var doubles = DoubleClaims(snapshot, problems);
        var intact = await DataIntactAsync(engine, token, problems, cancellationToken).ConfigureAwait(false);
        var serves = checkServes && await PoolServesAsync(engine, problems, cancellationToken).ConfigureAwait(false);
        if (!killed)
        {
            problems.Add($"the child finished without reaching {point}");
        }

        return new TrialOutcome(point, killed, leaked, stuck, doubles, intact, problems) { Serves = serves };
    }

    /// <summary>A ready pair made by reconcile, box dev1 from it with the marker file synced, suspended; then what the step needs.</summary>
    private async Task<string?> PrepareAsync(string token, CancellationToken cancellationToken)
    {
        await using var engine = setup.Engine();
        var reconciler = new PoolReconciler(engine);
        await reconciler.ReconcileAsync(cancellationToken: cancellationToken).ConfigureAwait(false); // an instance, a volume
        await reconciler.ReconcileAsync(cancellationToken: cancellationToken).ConfigureAwait(false); // paired
        var connect = new ConnectFlow(engine);
        var first = await connect.ConnectAsync(TrialSetup.User, Kept, cancellationToken: cancellationToken).ConfigureAwait(false);
        var written = await engine.Runtime.RunAsync(first.Endpoint, $"echo {token} > {Marker} && sync", TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
        if (written.ExitCode != 0)
        {
            throw new InvalidOperationException($"Could not write the marker file: {written.StdErr}");
        }

        await new DisconnectFlow(engine).DisconnectAsync(first.Box.Id, first.SessionId, cancellationToken).ConfigureAwait(false);
        switch (point)
        {
            case CrashPoints.DuringSuspend:
                // The child disconnects this session: it is the last one out, so it suspends the box.
                return (await connect.ConnectAsync(TrialSetup.User, Kept, create: false, cancellationToken).ConfigureAwait(false)).SessionId;
            case CrashPoints.DuringDelete:
                await reconciler.ReconcileAsync(cancellationToken: cancellationToken).ConfigureAwait(false); // a loose volume
                await new BoxCatalog(engine).CreateAsync(TrialSetup.User, Removed, cancellationToken).ConfigureAwait(false);
                return null;
            case CrashPoints.DuringRetire:
                // A new ready pair, then the host restarts: its QEMU dies (dev1 rests on its volume); the child's reconcile retires it.
                await reconciler.ReconcileAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
                await reconciler.ReconcileAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
                if ((await engine.Store.ReadSnapshotAsync(cancellationToken).ConfigureAwait(false)).Instances.All(i => i.VolumeId is null))
                {
                    throw new InvalidOperationException("Reconcile made no ready pair to retire.");
                }

                await KillEveryQemuAsync(setup.StateDirectory).ConfigureAwait(false);
                return null;
            case CrashPoints.DuringPair:
                // A loose clone beside the free instance dev1 left, so that the child's reconcile pairs them.
                await reconciler.ReconcileAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
                var loose = await engine.Store.ReadSnapshotAsync(cancellationToken).ConfigureAwait(false);
                if (!loose.Instances.Any(i => i.IsFree && i.VolumeId is null) || !loose.Volumes.Any(v => v.IsFree && v.InstanceId is null))
                {
                    throw new InvalidOperationException("Reconcile left no free instance and loose volume to pair.");
                }

                return null;
            default:
                return null;
        }
    }

    /// <summary>Runs the act in a child armed at the point; true when the child died by the kill.</summary>
    private async Task<bool> RunChildAsync(string childDll, string act, string? box, string? session, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[] { childDll, "child" }.Concat(setup.ChildArguments).Concat(["--act", act]))
        {
            start.ArgumentList.Add(argument);
        }

        if (box is not null)
        {
            start.ArgumentList.Add("--box");
            start.ArgumentList.Add(box);
        }

        if (session is not null)
        {
            start.ArgumentList.Add("--session");
            start.ArgumentList.Add(session);
        }

        start.Environment[CrashPoints.Variable] = point;
        using var child = Process.Start(start) ?? throw new InvalidOperationException("The child process did not start.");
        var output = child.StandardOutput.ReadToEndAsync(cancellationToken);
        var errors = child.StandardError.ReadToEndAsync(cancellationToken);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromMinutes(3));
        await child.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
        await Task.WhenAll(output, errors).ConfigureAwait(false);

        // Killed by SIGKILL: .NET reports 128 + 9.
        var killed = child.ExitCode == 137 && errors.Result.Contains($"crash point {point} reached", StringComparison.Ordinal);
        if (!killed)
        {
            Console.Error.WriteLine($"child ({act}) exited {child.ExitCode}: {errors.Result.Trim()}");
        }

        return killed;
    }

    /// <summary>Resources the provider has and the store does not (or the reverse), and boxes running that the store calls stopped.</summary>
    private async Task<int> LeaksAsync(ShellboxEngine engine, PoolSnapshot snapshot, List<string> problems, CancellationToken cancellationToken)
    {
        var leaks = new List<string>();
        foreach (var (role, rows) in new[] { (ResourceRoles.Instance, snapshot.Instances.Select(i => i.Id)), (ResourceRoles.Volume, snapshot.Volumes.Select(v => v.Id)) })
        {
            var listed = (await engine.Infrastructure.ListAsync(role, cancellationToken).ConfigureAwait(false))
                .Select(i => i.Id).Where(id => !id.StartsWith(ShellboxLimits.GoldenSnapshotPrefix, StringComparison.Ordinal)).ToHashSet(StringComparer.Ordinal);
            var stored = rows.ToHashSet(StringComparer.Ordinal);
            leaks.AddRange(listed.Except(stored).Select(id => $"{role} {id} exists but is not in the store"));
            leaks.AddRange(stored.Except(listed).Select(id => $"{role} {id} is in the store but does not exist"));
        }

        var instances = Path.Combine(setup.StateDirectory, "instances");
        foreach (var folder in Directory.Exists(instances) ? Directory.GetDirectories(instances) : [])
        {
            var id = Path.GetFileName(folder);
            var row = snapshot.Instances.FirstOrDefault(i => i.Id == id);
            if (QemuPid(folder) is not null && row is not { BoxRunning: true })
            {
                leaks.Add($"a QEMU runs on instance {id}, which the store calls stopped");
            }
        }

        problems.AddRange(leaks);
        return leaks.Count;
    }

    private static int Stuck(PoolSnapshot snapshot, DateTimeOffset now, List<string> problems)
    {
        var stuck = new List<string>();
        stuck.AddRange(snapshot.Boxes.Where(b => b.Mark is not null).Select(b => $"box {b.Id} still marked {b.Mark}"));
        stuck.AddRange(snapshot.Instances.Where(i => i.Mark is not null || i.Status is ResourceStatuses.Creating or ResourceStatuses.Deleting || i.Lease?.IsExpired(now) == true)
            .Select(i => $"instance {i.Id} is {i.Status}, mark {i.Mark}, lease {i.Lease}"));
        stuck.AddRange(snapshot.Volumes.Where(v => v.Mark is not null || v.Status is ResourceStatuses.Creating or ResourceStatuses.Deleting || v.Lease?.IsExpired(now) == true)
            .Select(v => $"volume {v.Id} is {v.Status}, mark {v.Mark}, lease {v.Lease}"));
        problems.AddRange(stuck);
        return stuck.Count;
    }

    private static int DoubleClaims(PoolSnapshot snapshot, List<string> problems)
    {
        var doubles = new List<string>();
        doubles.AddRange(snapshot.Boxes.GroupBy(b => b.VolumeId).Where(g => g.Count() > 1).Select(g => $"volume {g.Key} is bound to {g.Count()} boxes"));
        doubles.AddRange(snapshot.Boxes.Where(b => b.InstanceId is not null).GroupBy(b => b.InstanceId).Where(g => g.Count() > 1).Select(g => $"instance {g.Key} serves {g.Count()} boxes"));
        doubles.AddRange(snapshot.Instances.Where(i => i.VolumeId is not null).GroupBy(i => i.VolumeId).Where(g => g.Count() > 1).Select(g => $"volume {g.Key} is attached to {g.Count()} instances"));
        doubles.AddRange(snapshot.Volumes.Where(v => v.InstanceId is not null && snapshot.Instances.FirstOrDefault(i => i.Id == v.InstanceId)?.VolumeId != v.Id)
            .Select(v => $"volume {v.Id} points at instance {v.InstanceId}, which does not point back"));
        problems.AddRange(doubles);
        return doubles.Count;
    }

    /// <summary>Connects the kept box as its user would and reads the marker file back.</summary>
    private static async Task<bool> DataIntactAsync(ShellboxEngine engine, string token, List<string> problems, CancellationToken cancellationToken)
    {
        try
        {
            var c = await new ConnectFlow(engine).ConnectAsync(TrialSetup.User, Kept, create: false, cancellationToken).ConfigureAwait(false);
            var read = await engine.Runtime.RunAsync(c.Endpoint, $"cat {Marker}", TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
            await new DisconnectFlow(engine).DisconnectAsync(c.Box.Id, c.SessionId, cancellationToken).ConfigureAwait(false);
            if (read.StdOut.Trim() == token)
            {
                return true;
            }

            problems.Add($"the marker file reads '{read.StdOut.Trim()}' (exit {read.ExitCode}), not the token written before the crash");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            problems.Add($"box {Kept} does not connect after the recovery: {e.GetType().Name}: {e.Message}");
        }

        return false;
    }

    /// <summary>
    /// The pool still does its job after the recovery: two more reconciles make a ready pair, and a new box resumes from it,
    /// without a cold boot (a clone left without its saved state, handed back free, would be claimed and booted cold).
    /// </summary>
    private static async Task<bool> PoolServesAsync(ShellboxEngine engine, List<string> problems, CancellationToken cancellationToken)
    {
        try
        {
            var reconciler = new PoolReconciler(engine);
            for (var pass = 0; pass < 2; pass++)
            {
                var result = await reconciler.ReconcileAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
                problems.AddRange(result.Outcomes.Where(o => !o.Succeeded).Select(o => $"a reconcile after the recovery: {o.Message}"));
            }

            var c = await new ConnectFlow(engine).ConnectAsync(TrialSetup.User, Served, cancellationToken: cancellationToken).ConfigureAwait(false);
            await new DisconnectFlow(engine).DisconnectAsync(c.Box.Id, c.SessionId, cancellationToken).ConfigureAwait(false);
            if (c.Trace is { Path: "new-from-ready-pair", ColdBooted: false })
            {
                return true;
            }

            problems.Add($"a new box after the recovery took the path {c.Trace.Path}{(c.Trace.ColdBooted ? ", booted cold" : "")}, not a ready pair's resume");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            problems.Add($"a new box after the recovery does not connect: {e.GetType().Name}: {e.Message}");
        }

        return false;
    }

    /// <summary>Kills every QEMU running on the state's instances (SIGKILL: a host that stopped).</summary>
    private static async Task KillEveryQemuAsync(string stateDirectory)
    {
        var instances = Path.Combine(stateDirectory, "instances");
        foreach (var folder in Directory.Exists(instances) ? Directory.GetDirectories(instances) : [])
        {
            if (QemuPid(folder) is { } pid)
            {
                using var qemu = Process.GetProcessById(pid);
                qemu.Kill();
                await qemu.WaitForExitAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>The pid of the QEMU running in an instance folder, or null.</summary>
    internal static int? QemuPid(string instanceFolder)
    {
        var pidFile = Path.Combine(instanceFolder, "qemu.pid");
        if (!File.Exists(pidFile) || !int.TryParse(File.ReadAllText(pidFile).Trim(), out var pid))
        {
            return null;
        }

        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[0];
            return state is not ("Z" or "X") && File.ReadAllText($"/proc/{pid}/cmdline").Contains("qemu", StringComparison.Ordinal) ? pid : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Kills every QEMU a trial left and deletes its state folder.</summary>
    public static async Task CleanUpAsync(string stateDirectory)
    {
        await KillEveryQemuAsync(stateDirectory).ConfigureAwait(false);
        try
        {
            Directory.Delete(stateDirectory, recursive: true);
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"could not delete {stateDirectory}: {e.Message}");
        }
    }
}
