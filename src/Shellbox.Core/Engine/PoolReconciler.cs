using System.Diagnostics;
using Shellbox.Core.Model;
using Shellbox.Core.Planning;
using Shellbox.Core.Ports;
using Shellbox.Core.Store;

namespace Shellbox.Core.Engine;

/// <summary>
/// One level-triggered reconcile pass: read the store and the inventory (one query per role), plan
/// (pure), then carry the plan out with bounded parallelism. One reconciler at a time, by a store lock;
/// a second caller returns a skipped result quietly.
/// </summary>
public sealed class PoolReconciler(ShellboxEngine engine)
{
    public const string LockName = "reconcile";
    private const int Parallelism = 3;
    private static readonly TimeSpan LockDuration = TimeSpan.FromMinutes(15);

    /// <summary>Reads state and plans, changing nothing: no lock, no row, no event (what -WhatIf shows).</summary>
    public async Task<PoolPlan> PlanAsync(CancellationToken cancellationToken = default)
    {
        var store = engine.Store;
        var infrastructure = engine.Infrastructure;
        var snapshot = store.ReadSnapshotAsync(cancellationToken);
        var instances = infrastructure.ListAsync(ResourceRoles.Instance, cancellationToken);
        var volumes = infrastructure.ListAsync(ResourceRoles.Volume, cancellationToken);
        var history = PoolHistory.ReadAsync(store, cancellationToken);
        await Task.WhenAll(snapshot, instances, volumes, history).ConfigureAwait(false);
        return PoolPlanner.Plan(new PlannerInput
        {
            Snapshot = snapshot.Result,
            Config = engine.Settings.Pool,
            Now = engine.Time.GetUtcNow(),
            InstanceInventory = instances.Result,
            VolumeInventory = volumes.Result,
            LastInstanceScaleDown = history.Result.LastInstanceScaleDown,
            LastVolumeScaleDown = history.Result.LastVolumeScaleDown,
            InstanceFailures = history.Result.InstanceFailures,
            VolumeFailures = history.Result.VolumeFailures,
        });
    }

    /// <summary>
    /// Plans and carries out the actions <paramref name="approve"/> accepts (ShouldProcess in a cmdlet).
    /// Actions of one kind run in parallel; kinds run in plan order (repairs, deletes, pairs, creates).
    /// </summary>
    public async Task<ReconcileResult> ReconcileAsync(
        Func<PlanAction, Task<bool>>? approve = null,
        IProgress<ShellboxProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var correlation = engine.Ids.NewCorrelationId();
        using var logScope = Observability.ShellboxLog.Correlation(correlation);
        var clock = Stopwatch.StartNew();
        var attempt = await StoreLock.TryAcquireAsync(engine.Store, LockName, HolderName(correlation), engine.Time.GetUtcNow(), LockDuration, cancellationToken).ConfigureAwait(false);
        if (attempt.Held is not { } held)
        {
            return new ReconcileResult(correlation, PoolPlan.Empty, [], clock.Elapsed, Skipped: true) { LockHeldBy = attempt.HeldBy };
        }

        try
        {
            var plan = await PlanAsync(cancellationToken).ConfigureAwait(false);
            var approved = new List<PlanAction>();
            foreach (var action in plan.Actions)
            {
                if (approve is null || await approve(action).ConfigureAwait(false))
                {
                    approved.Add(action);
                }
            }

            var executor = new PlanExecutor(engine, correlation);
            var outcomes = new List<ActionOutcome>();
            var done = 0;
            foreach (var stage in approved.GroupBy(a => a.GetType()))
            {
                var results = await RunBoundedAsync(stage.ToList(), async action =>
                {
                    var outcome = await executor.ExecuteAsync(action, cancellationToken).ConfigureAwait(false);
                    var finished = Interlocked.Increment(ref done);
                    progress?.Report(new ShellboxProgress("Reconciling the pools", $"{finished}/{approved.Count}: {outcome.Message}", finished * 100 / approved.Count));
                    return outcome;
                }).ConfigureAwait(false);
                outcomes.AddRange(results);
            }

            var result = new ReconcileResult(correlation, plan, outcomes, clock.Elapsed, Skipped: false);
            await Observability.ReconcileRecorder.FinishedAsync(engine, result, cancellationToken).ConfigureAwait(false);
            return result;
        }
        finally
        {
            await StoreLock.ReleaseAsync(engine.Store, held, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>The pass's correlation id, and where it runs, so a loser can tell an operator who holds the lock.</summary>
    private static string HolderName(string correlation) => $"{correlation} on {Environment.MachineName} pid {Environment.ProcessId}";

    private static async Task<IReadOnlyList<ActionOutcome>> RunBoundedAsync(IReadOnlyList<PlanAction> actions, Func<PlanAction, Task<ActionOutcome>> run)
    {
        using var slots = new SemaphoreSlim(Parallelism);
        var tasks = actions.Select(async (action, index) =>
        {
            await slots.WaitAsync().ConfigureAwait(false);
            try
            {
                // A little jitter spreads provider calls so a burst of creates does not hit one throttle window.
                if (index >= Parallelism)
                {
                    await Task.Delay(Random.Shared.Next(0, 50)).ConfigureAwait(false);
                }

                return await run(action).ConfigureAwait(false);
            }
            finally
            {
                slots.Release();
            }
        });
        return await Task.WhenAll(tasks).ConfigureAwait(false);
    }
}
