using System.Management.Automation;
using Shellbox.Core.Boxes;
using Shellbox.PowerShell.Hosting;
using Shellbox.PowerShell.Output;

namespace Shellbox.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Duplicates a box (ssh: duplicate NAME NEW): a new box with a copy of its disk, RAM and running programs.</para>
/// <para type="description">A running box is paused for the copy (about a second) and goes on; its sessions stay connected.
/// The copy is suspended, owned by the same user, and gets its own host keys when it is first connected to.</para>
/// </summary>
/// <example><code>Copy-ShellboxBox -Name dev33 -NewName dev33-try</code></example>
[Cmdlet(VerbsCommon.Copy, "ShellboxBox", SupportsShouldProcess = true)]
[OutputType(typeof(ShellboxBoxInfo))]
public sealed class CopyShellboxBoxCommand : ShellboxBoxCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(BoxNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    /// <summary>The name of the copy; it must not exist yet.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string NewName { get; set; } = "";

    protected override void ProcessRecord()
    {
        var engine = Engine;
        if (!ShouldProcess($"{Owner}/{Name}", $"Duplicate box into {Owner}/{NewName}"))
        {
            return;
        }

        Run(async cancellationToken => Emit(new ShellboxBoxInfo(await new DuplicateFlow(engine).DuplicateAsync(Owner, Name, NewName, cancellationToken).ConfigureAwait(false))), errorTarget: $"{Owner}/{Name}");
    }
}
