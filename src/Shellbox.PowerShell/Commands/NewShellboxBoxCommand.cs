using System.Management.Automation;
using Shellbox.Core.Boxes;
using Shellbox.PowerShell.Output;

namespace Shellbox.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Creates a box (ssh: spinup NAME): binds a fresh volume from the pool to it, without connecting.</para>
/// </summary>
/// <example><code>New-ShellboxBox -Name dev33</code></example>
[Cmdlet(VerbsCommon.New, "ShellboxBox", SupportsShouldProcess = true)]
[OutputType(typeof(ShellboxBoxInfo))]
public sealed class NewShellboxBoxCommand : ShellboxBoxCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    protected override void ProcessRecord()
    {
        var engine = Engine;
        if (!ShouldProcess($"{Owner}/{Name}", "Create box"))
        {
            return;
        }

        Run(async cancellationToken => Emit(new ShellboxBoxInfo(await new BoxCatalog(engine).CreateAsync(Owner, Name, cancellationToken).ConfigureAwait(false))));
    }
}
