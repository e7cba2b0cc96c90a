using System.Management.Automation;
using Shellbox.PowerShell.FrontDoor;
using Shellbox.PowerShell.Hosting;
using Shellbox.PowerShell.Output;

namespace Shellbox.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Runs one `ssh HOST COMMAND` of the bastion for the user of a public key, in this process: what the ssh wrapper does when no front door is running.</para>
/// <para type="description">Writes the command's lines to this process's stdout and stderr as they come (not to the pipeline) and returns the exit
/// code the wrapper exits with; a connect hands this process's terminal to the box's ssh and suspends the box when it ends. Meant for
/// module/ssh/shellbox-ssh.ps1; Start-ShellboxFrontDoor does the same for every login without loading the module each time.</para>
/// </summary>
/// <example><code>exit (Invoke-ShellboxSshCommand -PublicKey 'ssh-ed25519 AAAA...' -Command 'list --json')</code></example>
[Cmdlet(VerbsLifecycle.Invoke, "ShellboxSshCommand")]
[OutputType(typeof(int))]
public sealed class InvokeShellboxSshCommandCommand : ShellboxCmdlet
{
    /// <summary>The key the user authenticated with: 'TYPE BASE64' (the user id is derived from it).</summary>
    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string PublicKey { get; set; } = "";

    /// <summary>What the user typed after `ssh HOST` (sshd's SSH_ORIGINAL_COMMAND); may be empty.</summary>
    [Parameter(Mandatory = true)]
    [AllowEmptyString]
    public string Command { get; set; } = "";

    protected override void ProcessRecord()
    {
        var engine = Engine;
        SshCommandOutcome? outcome = null;
        Run(async cancellationToken => outcome = await new SshCommandHandler(engine, new ConsoleOutput()).RunAsync(PublicKey, Command, cancellationToken).ConfigureAwait(false));
        if (outcome is null)
        {
            return;
        }

        if (outcome.Session is not { } session)
        {
            WriteObject(outcome.ExitCode);
            return;
        }

        var exitCode = 255;
        try
        {
            exitCode = SshTerminal.Run(new ShellboxConnection(session.Connection, session.KnownHostsFile), outcome.BoxCommand, StopToken);
        }
        finally
        {
            Run(async cancellationToken => EmitVerbose($"disconnect: {await OpenSessions.CloseAsync(session, CancellationToken.None).ConfigureAwait(false)}"));
        }

        WriteObject(exitCode);
    }
}
