using System.Management.Automation;
using Shellbox.PowerShell.Hosting;
using Shellbox.PowerShell.Output;

namespace Shellbox.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Ends sessions opened with Connect-ShellboxBox -PassThru; the last one out suspends the box.</para>
/// </summary>
/// <example><code>$c | Disconnect-ShellboxBox</code></example>
/// <example><code>Disconnect-ShellboxBox -Name dev33</code></example>
[Cmdlet(VerbsCommunications.Disconnect, "ShellboxBox", SupportsShouldProcess = true, DefaultParameterSetName = ByName)]
[OutputType(typeof(void))]
public sealed class DisconnectShellboxBoxCommand : ShellboxBoxCmdlet
{
    private const string ByName = "ByName";
    private const string ByObject = "ByObject";

    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ByObject)]
    public ShellboxConnection? InputObject { get; set; }

    /// <summary>Every session of this box held by this PowerShell session.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByName)]
    [ArgumentCompleter(typeof(BoxNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    protected override void ProcessRecord()
    {
        var sessions = InputObject is not null
            ? new[] { OpenSessions.Get(InputObject.SessionId) }.OfType<OpenSession>().ToList()
            : OpenSessions.Find(Owner, Name);
        var target = InputObject is not null ? $"{InputObject.UserId}/{InputObject.Name}" : $"{Owner}/{Name}";
        if (sessions.Count == 0)
        {
            WriteError(new ErrorRecord(
                new InvalidOperationException($"This PowerShell session holds no open connection to {target}."),
                "DisconnectShellboxBoxNotConnected", ErrorCategory.ObjectNotFound, target));
            return;
        }

        foreach (var session in sessions)
        {
            if (ShouldProcess(target, $"Disconnect session {session.Connection.SessionId}"))
            {
                Run(async cancellationToken => EmitVerbose($"{target}: {await OpenSessions.CloseAsync(session, cancellationToken).ConfigureAwait(false)}"), errorTarget: target);
            }
        }
    }
}
