using System.Management.Automation;
using Shellbox.Core.Model;
using Shellbox.Core.Observability;
using Shellbox.PowerShell.Hosting;
using Shellbox.PowerShell.Output;

namespace Shellbox.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Shows what happened to the pools and boxes, newest first: creates, deletes, pairs, connects, reclaims, reconcile passes.</para>
/// <para type="description">-Kind and -Box are answered by the store's index, so the newest events of one kind or one box are
/// found however many other events came after them. Reconcile keeps events per shellbox.json "events": { "maxAgeDays", "maxCount" }.</para>
/// </summary>
/// <example><code>Get-ShellboxEvent -Last 20</code></example>
/// <example><code>Get-ShellboxEvent -Kind connect -Box dev33</code></example>
/// <example><code>Get-ShellboxEvent -Kind reconcile -Last 5 | Where-Object { -not $_.Succeeded }</code></example>
[Cmdlet(VerbsCommon.Get, "ShellboxEvent")]
[OutputType(typeof(ShellboxEventInfo))]
public sealed class GetShellboxEventCommand : ShellboxBoxCmdlet
{
    [Parameter(Position = 0)]
    [ValidateRange(1, 10000)]
    public int Last { get; set; } = 50;

    /// <summary>Only events of this kind: create, scale-down, connect, reconcile, cold-boot, remove-box, ...</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Kind { get; set; }

    /// <summary>Only events about this box of the owner (-UserId, by default you).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(BoxNameCompleter))]
    public string? Box { get; set; }

    protected override void ProcessRecord()
    {
        var engine = Engine;
        var query = new EventQuery { Kind = Kind, ResourceId = Box is null ? null : BoxRecord.IdFor(Owner, Box), Max = Last };
        Run(async cancellationToken =>
        {
            foreach (var e in await engine.Store.QueryEventsAsync(query, cancellationToken).ConfigureAwait(false))
            {
                Emit(new ShellboxEventInfo(e));
            }
        });
    }
}
