using System.Management.Automation;
using Shellbox.Core.Boxes;
using Shellbox.PowerShell.Hosting;
using Shellbox.PowerShell.Output;

namespace Shellbox.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Creates a box (ssh: spinup NAME): binds a fresh volume from the pool to it, without connecting.</para>
/// <para type="description">When the pool has no free volume, one is made from the golden snapshot while the pool's caps
/// allow; a warning says so first ("making your box, about N s"). At the caps the box is not created and the error says
/// when to retry.</para>
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

        // As Connect-ShellboxBox: the slow path's one line goes to the warning stream before the wait (the ssh wrapper
        // writes warnings to stderr), so the box object stays alone on the output.
        var notices = new CallThroughProgress<ConnectNotice>(notice => EmitWarning(notice.ToString()));
        Run(async cancellationToken => Emit(new ShellboxBoxInfo(await new BoxCatalog(engine, notices).CreateAsync(Owner, Name, cancellationToken).ConfigureAwait(false))));
    }
}
