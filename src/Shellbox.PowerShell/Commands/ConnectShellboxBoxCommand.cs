using System.Management.Automation;
using Shellbox.Core.Boxes;
using Shellbox.PowerShell.Hosting;
using Shellbox.PowerShell.Output;

namespace Shellbox.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Connects to a box: claims or joins it, resumes it, and hands the terminal to its SSH.</para>
/// <para type="description">A box that does not exist yet is created (from a ready pair when the pool has one). When the
/// ssh session ends the session is disconnected: the last one out suspends the box to its volume. -Command runs one
/// command in the box as `ssh host cmd` would; -PassThru returns the open connection instead of attaching a terminal.</para>
/// </summary>
/// <example><code>Connect-ShellboxBox dev33</code></example>
/// <example><code>Connect-ShellboxBox dev33 -Command 'uptime'</code></example>
/// <example><code>$c = Connect-ShellboxBox dev33 -PassThru; ssh @($c.SshArguments) hostname; $c | Disconnect-ShellboxBox</code></example>
/// <example><code>Connect-ShellboxBox dev33 -UserId alice -ColdBoot -Force -Command true   # a box whose saved state will not load</code></example>
[Cmdlet(VerbsCommunications.Connect, "ShellboxBox", SupportsShouldProcess = true)]
[OutputType(typeof(ShellboxConnection))]
public sealed class ConnectShellboxBoxCommand : ShellboxBoxCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(BoxNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    /// <summary>A command to run in the box instead of an interactive shell; its exit code becomes $LASTEXITCODE.</summary>
    [Parameter(Position = 1)]
    public string? Command { get; set; }

    /// <summary>Return the open connection (and keep it alive) instead of attaching the terminal.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>Fail instead of creating a box that does not exist.</summary>
    [Parameter]
    public SwitchParameter NoCreate { get; set; }

    /// <summary>
    /// Start the box fresh from its disk, discarding its saved running state: the way back in for a box whose state
    /// cannot be loaded (corrupt, or saved under other machine settings). Its files stay; its running programs are lost.
    /// Only a box at rest on its volume; asks first unless -Force.
    /// </summary>
    [Parameter]
    public SwitchParameter ColdBoot { get; set; }

    /// <summary>With -ColdBoot: do not ask before discarding the saved running state.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        var engine = Engine;
        if (!ShouldProcess($"{Owner}/{Name}", ColdBoot ? "Start the box fresh from its disk (its saved running state is discarded) and connect" : "Connect to box"))
        {
            return;
        }

        if (ColdBoot && !Force && !ShouldContinue($"Box '{Owner}/{Name}' starts fresh from its disk: its files stay, its running programs and its saved state are discarded.", "Start the box from its disk?"))
        {
            return;
        }

        OpenSession? session = null;
        Run(async cancellationToken =>
        {
            // The slow path's one line ("making your box, about N s") goes to the warning stream before the wait;
            // the ssh wrapper turns warnings into lines on stderr, so a command's stdout stays the box's alone.
            var notices = new CallThroughProgress<ConnectNotice>(notice => EmitWarning(notice.ToString()));
            var connection = await new ConnectFlow(engine, notices) { BootFromDisk = ColdBoot }.ConnectAsync(Owner, Name, create: !NoCreate, cancellationToken).ConfigureAwait(false);
            session = await OpenSessions.OpenAsync(engine, connection, cancellationToken).ConfigureAwait(false);
            EmitVerbose($"connect {connection.Trace}");
            if (connection.LostRunningPrograms)
            {
                EmitWarning(ColdBoot
                    ? $"Box '{Name}' was started fresh from its disk, as asked: its files are there, its running programs are not."
                    : $"Box '{Name}' had lost its running state (its host stopped without suspending it) and was started fresh from its disk: your files are there, your running programs are not.");
            }
        });

        if (session is null)
        {
            return;
        }

        var output = new ShellboxConnection(session.Connection, session.KnownHostsFile);
        if (PassThru)
        {
            WriteObject(output);
            return;
        }

        var exitCode = 255;
        try
        {
            exitCode = SshTerminal.Run(output, Command, StopToken);
        }
        finally
        {
            Run(async cancellationToken => EmitVerbose($"disconnect: {await OpenSessions.CloseAsync(session, CancellationToken.None).ConfigureAwait(false)}"));
            SessionState.PSVariable.Set("global:LASTEXITCODE", exitCode);
        }
    }
}
