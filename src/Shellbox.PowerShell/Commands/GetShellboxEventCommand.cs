using System.Management.Automation;
using Shellbox.PowerShell.Output;

namespace Shellbox.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Shows what happened to the pools and boxes, newest first: creates, deletes, pairs, connects, reclaims.</para>
/// </summary>
/// <example><code>Get-ShellboxEvent -Last 20</code></example>
/// <example><code>Get-ShellboxEvent | Where-Object { -not $_.Succeeded }</code></example>
[Cmdlet(VerbsCommon.Get, "ShellboxEvent")]
[OutputType(typeof(ShellboxEventInfo))]
public sealed class GetShellboxEventCommand : ShellboxCmdlet
{
    [Parameter(Position = 0)]
    [ValidateRange(1, 10000)]
    public int Last { get; set; } = 50;

    protected override void ProcessRecord()
    {
        var engine = Engine;
        Run(async cancellationToken =>
        {
            foreach (var e in await engine.Store.ReadEventsAsync(Last, cancellationToken).ConfigureAwait(false))
            {
                Emit(new ShellboxEventInfo(e));
            }
        });
    }
}
