using System.Management.Automation;
using System.Runtime.InteropServices;
using Shellbox.PowerShell.FrontDoor;

namespace Shellbox.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Runs the bastion's front door: the ssh wrapper hands every `ssh HOST COMMAND` to this process instead of loading the module per login.</para>
/// <para type="description">Listens on a Unix socket (default: frontdoor.sock in the state folder, where the wrapper looks) until Ctrl+C or
/// SIGTERM. The engine and the open sessions live here; a connect's box is suspended after the user's ssh has returned. Run it as the
/// account sshd runs the wrapper as (systemd: module/systemd/shellbox-frontdoor.service). When it is not running, the wrapper does
/// the same work in its own process, only slower. On stop it takes no new request and waits up to -DrainTimeout for open sessions.</para>
/// </summary>
/// <example><code>Start-ShellboxFrontDoor -StateDirectory /var/lib/shellbox -Verbose</code></example>
[Cmdlet(VerbsLifecycle.Start, "ShellboxFrontDoor")]
public sealed class StartShellboxFrontDoorCommand : ShellboxCmdlet
{
    /// <summary>The socket to listen on; default: frontdoor.sock in the state folder (the wrapper looks only there).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? SocketPath { get; set; }

    /// <summary>How long a stop waits for open sessions before leaving them to their leases (default 5 minutes).</summary>
    [Parameter]
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromMinutes(5);

    protected override void ProcessRecord()
    {
        var engine = Engine;
        var socket = SocketPath is null
            ? FrontDoorServer.DefaultSocketPath(engine.Settings.StateDirectory)
            : SessionState.Path.GetUnresolvedProviderPathFromPSPath(SocketPath);
        if (DrainTimeout < TimeSpan.Zero)
        {
            ThrowTerminatingError(ToErrorRecord(Core.Errors.ShellboxException.User("DrainTimeoutInvalid", "-DrainTimeout must not be negative."), DrainTimeout));
        }

        // Run by a service manager: systemctl stop (SIGTERM) stops it like Ctrl+C, and it drains.
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, signal =>
        {
            signal.Cancel = true;
            StopProcessing();
        });
        Run(cancellationToken => new FrontDoorServer(engine.Settings.StateDirectory, socket, EmitVerbose).RunAsync(DrainTimeout, cancellationToken));
    }
}
