using System.Management.Automation;
using Shellbox.Core.Engine;
using Shellbox.Core.Errors;
using Shellbox.PowerShell.Output;

namespace Shellbox.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Brings the pools within their bounds: one level-triggered pass (read, plan, act), or a loop.</para>
/// <para type="description">Scales free instances and volumes up to min free and down to max free (oldest first, after the
/// cooldown), never past the total caps and never touching a claimed, attached or owned resource; makes ready pairs;
/// reclaims expired leases and repairs drift. -WhatIf prints the plan and changes nothing.</para>
/// </summary>
/// <example><code>Invoke-ShellboxPoolReconcile -WhatIf</code></example>
/// <example><code>Invoke-ShellboxPoolReconcile -Continuous -Interval 00:00:30</code></example>
[Cmdlet(VerbsLifecycle.Invoke, "ShellboxPoolReconcile", SupportsShouldProcess = true)]
[OutputType(typeof(ShellboxReconcileResult))]
public sealed class InvokeShellboxPoolReconcileCommand : ShellboxCmdlet
{
    /// <summary>Repeat until Ctrl+C, waiting -Interval between passes.</summary>
    [Parameter]
    public SwitchParameter Continuous { get; set; }

    /// <summary>The wait between passes with -Continuous; default: the pool configuration's CheckInterval.</summary>
    [Parameter]
    [ValidateRange("00:00:01", "1.00:00:00")]
    public TimeSpan? Interval { get; set; }

    protected override void ProcessRecord()
    {
        var engine = Engine;
        var reconciler = new PoolReconciler(engine);
        if (!Continuous && MyInvocation.BoundParameters.TryGetValue("WhatIf", out var whatIf) && ((SwitchParameter)whatIf).IsPresent)
        {
            Run(async cancellationToken =>
            {
                var plan = await reconciler.PlanAsync(cancellationToken).ConfigureAwait(false);
                foreach (var line in plan.IsNoop ? ["no changes: both pools are within their bounds"] : plan.Actions.Select(a => a.Describe()))
                {
                    await ShouldProcessAsync(line, "Reconcile").ConfigureAwait(false);
                }

                foreach (var note in plan.Notes)
                {
                    EmitVerbose(note.ToString());
                }
            });
            return;
        }

        Run(async cancellationToken =>
        {
            do
            {
                var result = await reconciler.ReconcileAsync(a => ShouldProcessAsync(a.Describe(), "Reconcile"), Progress(), cancellationToken).ConfigureAwait(false);
                foreach (var failure in result.Outcomes.Where(o => !o.Succeeded))
                {
                    EmitError(new ShellboxException(ShellboxErrorKind.Service, "ActionFailed", failure.Message), failure.Action.Describe());
                }

                foreach (var outcome in result.Outcomes)
                {
                    EmitVerbose($"correlation={result.CorrelationId} action=\"{outcome.Action.Describe()}\" ok={outcome.Succeeded.ToString().ToLowerInvariant()} ms={outcome.Duration.TotalMilliseconds:0} resource={outcome.ResourceId}");
                }

                if (result.Skipped)
                {
                    EmitVerbose("Another reconciler holds the lock; this pass did nothing.");
                }

                Emit(new ShellboxReconcileResult(result));
                if (Continuous)
                {
                    await Task.Delay(Interval ?? engine.Settings.Pool.CheckInterval, engine.Time, cancellationToken).ConfigureAwait(false);
                }
            }
            while (Continuous && !cancellationToken.IsCancellationRequested);
        });
    }
}
