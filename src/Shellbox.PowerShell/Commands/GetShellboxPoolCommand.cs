using System.Management.Automation;
using Shellbox.Core.Model;
using Shellbox.Core.Pools;
using Shellbox.PowerShell.Output;

namespace Shellbox.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Shows the instance and volume pools: counts by status and their bounds.</para>
/// </summary>
/// <example>
/// <code>Get-ShellboxPool</code>
/// <code>Get-ShellboxPool -Pool volume | Select-Object Free, MinFree</code>
/// </example>
[Cmdlet(VerbsCommon.Get, "ShellboxPool")]
[OutputType(typeof(ShellboxPoolInfo))]
public sealed class GetShellboxPoolCommand : ShellboxCmdlet
{
    /// <summary>Only this pool: instance or volume.</summary>
    [Parameter(Position = 0)]
    [ValidateSet(ResourceRoles.Instance, ResourceRoles.Volume)]
    public string? Pool { get; set; }

    protected override void ProcessRecord()
    {
        var engine = Engine;
        Run(async cancellationToken =>
        {
            var report = await PoolReport.ReadAsync(engine, cancellationToken).ConfigureAwait(false);
            if (report.InventoryError is { } error)
            {
                EmitWarning($"Drift not checked: the provider's inventory could not be read: {error}");
            }

            foreach (var status in report.Pools.Where(s => Pool is null || s.Pool == Pool))
            {
                Emit(new ShellboxPoolInfo(status, report.Drift.FirstOrDefault(d => d.Pool == status.Pool), engine.Settings.Pool.Name, engine.Settings.Provider));
            }
        });
    }
}
