using System.Management.Automation;
using Shellbox.Core.Boxes;
using Shellbox.PowerShell.Hosting;

namespace Shellbox.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Deletes a box and its volume: its files and processes are gone for good.</para>
/// </summary>
/// <example><code>Remove-ShellboxBox -Name dev33</code></example>
/// <example><code>Get-ShellboxBox old-* | Remove-ShellboxBox -Force</code></example>
[Cmdlet(VerbsCommon.Remove, "ShellboxBox", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(void))]
public sealed class RemoveShellboxBoxCommand : ShellboxBoxCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(BoxNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    /// <summary>Do not ask for confirmation.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        var engine = Engine;
        var target = $"{Owner}/{Name}";
        if (!ShouldProcess(target, "Remove box and delete its volume")
            || !(Force || ShouldContinue($"Delete box {target} and every file and process in it?", "Remove box")))
        {
            return;
        }

        // One bad box in a pipeline does not stop the others: errors are about this target only.
        Run(cancellationToken => new BoxCatalog(engine).RemoveAsync(Owner, Name, cancellationToken), errorTarget: target);
    }
}
