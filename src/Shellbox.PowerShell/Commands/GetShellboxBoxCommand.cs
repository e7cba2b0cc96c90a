using System.Management.Automation;
using Shellbox.Core.Boxes;
using Shellbox.PowerShell.Hosting;
using Shellbox.PowerShell.Output;

namespace Shellbox.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Lists boxes: owner, name, state (running, lingering, suspended), sessions.</para>
/// </summary>
/// <example><code>Get-ShellboxBox</code></example>
/// <example><code>Get-ShellboxBox -AllUsers | Where-Object State -eq running</code></example>
[Cmdlet(VerbsCommon.Get, "ShellboxBox", DefaultParameterSetName = ForUser)]
[OutputType(typeof(ShellboxBoxInfo))]
public sealed class GetShellboxBoxCommand : ShellboxBoxCmdlet
{
    private const string ForUser = "ForUser";
    private const string ForAll = "AllUsers";

    /// <summary>Only boxes with this name (wildcards allowed).</summary>
    [Parameter(Position = 0, ParameterSetName = ForUser, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(BoxNameCompleter))]
    public string? Name { get; set; }

    /// <summary>Every user's boxes (operators).</summary>
    [Parameter(Mandatory = true, ParameterSetName = ForAll)]
    public SwitchParameter AllUsers { get; set; }

    /// <summary>Also read the disk each box's volume takes (DiskUsedBytes): one provider read per box.</summary>
    [Parameter]
    public SwitchParameter Detailed { get; set; }

    protected override void ProcessRecord()
    {
        var engine = Engine;
        var pattern = Name is null ? null : WildcardPattern.Get(Name, WildcardOptions.IgnoreCase);
        Run(async cancellationToken =>
        {
            var boxes = await new BoxCatalog(engine).ListAsync(AllUsers ? null : Owner, cancellationToken).ConfigureAwait(false);
            var matched = boxes.Where(b => pattern is null || pattern.IsMatch(b.Box.BoxName)).ToList();
            if (matched.Count == 0 && Name is not null && !WildcardPattern.ContainsWildcardCharacters(Name))
            {
                EmitError(Core.Errors.ShellboxException.NotFound("BoxNotFound", $"There is no box '{Name}' for user '{Owner}'."), Name);
            }

            foreach (var box in matched)
            {
                Emit(new ShellboxBoxInfo(box, Detailed ? await BoxDetails.ReadAsync(engine, box, cancellationToken).ConfigureAwait(false) : null));
            }
        });
    }
}
