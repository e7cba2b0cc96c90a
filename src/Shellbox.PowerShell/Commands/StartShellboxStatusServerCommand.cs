using System.Management.Automation;
using System.Net;
using Shellbox.Core.Errors;
using Shellbox.PowerShell.Hosting;
using Shellbox.PowerShell.Output;
using Shellbox.Status;

namespace Shellbox.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Starts the status server in this session: Prometheus metrics at /metrics, the pool as JSON at /pool/status.</para>
/// <para type="description">Listens on 127.0.0.1 by default. Another address needs -AllowRemote: the server has no
/// authentication and /pool/status names every box and resource, so expose it only behind a firewall or a proxy
/// that authenticates. Histograms and counters are those of this session: run the reconcile loop in the same
/// session (Invoke-ShellboxPoolReconcile -Continuous) to see its passes. The server stops with
/// Stop-ShellboxStatusServer or when the session ends.</para>
/// </summary>
/// <example><code>Start-ShellboxStatusServer; Invoke-ShellboxPoolReconcile -Continuous</code></example>
/// <example><code>Start-ShellboxStatusServer -Port 9100 -Address 10.0.0.4 -AllowRemote</code></example>
[Cmdlet(VerbsLifecycle.Start, "ShellboxStatusServer", SupportsShouldProcess = true)]
[OutputType(typeof(ShellboxStatusServerInfo))]
public sealed class StartShellboxStatusServerCommand : ShellboxCmdlet
{
    /// <summary>The TCP port; 9464 (the Prometheus exporter convention) by default.</summary>
    [Parameter(Position = 0)]
    [ValidateRange(1, 65535)]
    public int Port { get; set; } = StatusServerOptions.DefaultPort;

    /// <summary>The address to listen on; 127.0.0.1 by default. Not loopback: refused without -AllowRemote.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string Address { get; set; } = "127.0.0.1";

    /// <summary>Allows a non-loopback -Address. The server has no authentication and /pool/status names every box.</summary>
    [Parameter]
    public SwitchParameter AllowRemote { get; set; }

    protected override void ProcessRecord()
    {
        if (!IPAddress.TryParse(Address, out var address))
        {
            ThrowTerminatingError(ToErrorRecord(ShellboxException.User("StatusAddressInvalid", $"'{Address}' is not an IP address; use 127.0.0.1 (the default) or an address of this host."), Address));
            return;
        }

        var options = new StatusServerOptions { Address = address, Port = Port, AllowRemote = AllowRemote };
        var engine = Engine;
        if (!ShouldProcess(options.Prefix, "Start the Shellbox status server"))
        {
            return;
        }

        Run(cancellationToken =>
        {
            var server = StatusServer.Start(engine, options.Validate());
            if (!StatusServers.TryAdd(server))
            {
                _ = server.DisposeAsync().AsTask();
                throw new ShellboxException(ShellboxErrorKind.Conflict, "StatusServerRunning", $"A status server of this session already listens on port {Port}; stop it first with Stop-ShellboxStatusServer -Port {Port}.");
            }

            Emit(new ShellboxStatusServerInfo(server, engine.Settings.StateDirectory, engine.Settings.Provider));
            return Task.CompletedTask;
        });
    }
}
