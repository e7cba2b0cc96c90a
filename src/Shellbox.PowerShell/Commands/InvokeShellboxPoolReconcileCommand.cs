using System.Diagnostics;
using System.Management.Automation;
using System.Runtime.InteropServices;
using Shellbox.Core.Engine;
using Shellbox.Core.Errors;
using Shellbox.PowerShell.Output;

namespace Shellbox.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Brings the pools within their bounds: one level-triggered pass (read, plan, act), or a loop.</para>
/// <para type="description">Scales free instances and volumes up to min free and down to max free (oldest first, after the
/// cooldown), never past the total caps and never touching a claimed, attached or owned resource; makes ready pairs;
/// reclaims expired leases and repairs drift. One reconciler at a time: a pass that finds another holding the store lock
/// does nothing and says so in its result (Skipped) and a verbose line. -WhatIf prints the plan and writes nothing, not
/// even the lock. With -Continuous a failed pass is reported as an error and the loop goes on; Ctrl+C or SIGTERM
/// (systemctl stop) ends it cleanly, releasing the lock.</para>
/// </summary>
/// <example><code>Invoke-ShellboxPoolReconcile -WhatIf</code></example>
/// <example><code>Invoke-ShellboxPoolReconcile -Continuous -Interval 00:00:30</code></example>
/// <example><code>Invoke-ShellboxPoolReconcile -Continuous -Duration 00:55:00 | ForEach-Object ToString</code></example>
[Cmdlet(VerbsLifecycle.Invoke, "ShellboxPoolReconcile", SupportsShouldProcess = true)]
[OutputType(typeof(ShellboxReconcileResult))]
public sealed class InvokeShellboxPoolReconcileCommand : ShellboxCmdlet
{
    /// <summary>Repeat until Ctrl+C (or -Duration), waiting -Interval between passes.</summary>
    [Parameter]
    public SwitchParameter Continuous { get; set; }

    /// <summary>The wait between passes with -Continuous; default: the pool configuration's CheckInterval.</summary>
    [Parameter]
    [ValidateRange("00:00:00.1", "1.00:00:00")]
    public TimeSpan? Interval { get; set; }

    /// <summary>With -Continuous: start no pass that would end its wait after this long, then return (a scheduled job's slot).</summary>
    [Parameter]
    [ValidateRange("00:00:01", "30.00:00:00")]
    public TimeSpan? Duration { get; set; }

    private bool WhatIf => MyInvocation.BoundParameters.TryGetValue("WhatIf", out var whatIf) && ((SwitchParameter)whatIf).IsPresent;

    protected override void ProcessRecord()
    {
        var engine = Engine;
        var reconciler = new PoolReconciler(engine);
        var interval = Interval ?? engine.Settings.Pool.CheckInterval;
        var started = engine.Time.GetTimestamp();

        // A loop run by a service manager (systemctl stop sends SIGTERM) ends like Ctrl+C: the pass in progress
        // stops and releases the store lock instead of leaving it to expire.
        using var terminate = Continuous ? StopOnTerminate() : null;
        Run(async cancellationToken =>
        {
            while (true)
            {
                await PassAsync(engine, reconciler, cancellationToken).ConfigureAwait(false);
                if (!Continuous || (Duration is { } duration && engine.Time.GetElapsedTime(started) + interval >= duration))
                {
                    return;
                }

                await Task.Delay(interval, engine.Time, cancellationToken).ConfigureAwait(false);
            }
        });
    }

    private PosixSignalRegistration? StopOnTerminate()
    {
        try
        {
            return PosixSignalRegistration.Create(PosixSignal.SIGTERM, signal =>
            {
                signal.Cancel = true;
                StopProcessing();
            });
        }
        catch (PlatformNotSupportedException)
        {
            return null;
        }
    }

    private async Task PassAsync(ShellboxEngine engine, PoolReconciler reconciler, CancellationToken cancellationToken)
    {
        try
        {
            if (WhatIf)
            {
                await PlanOnlyAsync(engine, reconciler, cancellationToken).ConfigureAwait(false);
                return;
            }

            var result = await reconciler.ReconcileAsync(a => ShouldProcessAsync(a.Describe(), "Reconcile"), Progress(), cancellationToken).ConfigureAwait(false);
            foreach (var failure in result.Outcomes.Where(o => !o.Succeeded))
            {
                EmitError(new ShellboxException(ShellboxErrorKind.Service, "ActionFailed", failure.Message), failure.Action.Describe());
            }

            foreach (var outcome in result.Outcomes)
            {
                EmitVerbose($"correlation={result.CorrelationId} action=\"{outcome.Action.Describe()}\" ok={outcome.Succeeded.ToString().ToLowerInvariant()} ms={outcome.Duration.TotalMilliseconds:0} resource={outcome.ResourceId}");
            }

            var output = new ShellboxReconcileResult(result);
            if (result.Skipped)
            {
                EmitVerbose(output.ToString());
            }

            Emit(output);
        }
        catch (Exception e) when (Continuous && !cancellationToken.IsCancellationRequested && e is not PipelineStoppedException)
        {
            // A loop outlives one bad pass (a store or provider outage): say so and try again after the interval.
            var error = e as ShellboxException ?? new ShellboxException(ShellboxErrorKind.Internal, "Unexpected", $"{e.GetType().Name}: {e.Message}", e);
            EmitError(error, "reconcile pass");
        }
    }

    /// <summary>-WhatIf: the plan as What-if lines (and, in a loop, as a result per pass); no lock, no row, no event.</summary>
    private async Task PlanOnlyAsync(ShellboxEngine engine, PoolReconciler reconciler, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var plan = await reconciler.PlanAsync(cancellationToken).ConfigureAwait(false);
        foreach (var line in plan.IsNoop ? ["no changes: both pools are within their bounds"] : plan.Actions.Select(a => a.Describe()))
        {
            await ShouldProcessAsync(line, "Reconcile").ConfigureAwait(false);
        }

        foreach (var note in plan.Notes)
        {
            EmitVerbose(note.ToString());
        }

        if (Continuous)
        {
            Emit(new ShellboxReconcileResult(new ReconcileResult(engine.Ids.NewCorrelationId(), plan, [], clock.Elapsed, Skipped: false)));
        }
    }
}
