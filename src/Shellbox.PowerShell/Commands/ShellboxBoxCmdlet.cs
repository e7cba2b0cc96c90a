using System.Management.Automation;
using Shellbox.PowerShell.Hosting;

namespace Shellbox.PowerShell.Commands;

/// <summary>Box cmdlets share the owner: -UserId, by default $SHELLBOX_USER or the login name.</summary>
public abstract class ShellboxBoxCmdlet : ShellboxCmdlet
{
    /// <summary>The owner of the box. Default: $SHELLBOX_USER, else your login name.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? UserId { get; set; }

    protected string Owner => UserId ?? UserIds.Default();
}
