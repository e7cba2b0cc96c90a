using System.Management.Automation;
using Shellbox.Core.Errors;
using Shellbox.PowerShell.Hosting;

namespace Shellbox.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Stops status servers this session started: the one on -Port, or every one.</para>
/// </summary>
/// <example><code>Stop-ShellboxStatusServer</code></example>
/// <example><code>Start-ShellboxStatusServer -Port 9100 | Stop-ShellboxStatusServer</code></example>
[Cmdlet(VerbsLifecycle.Stop, "ShellboxStatusServer", SupportsShouldProcess = true)]
public sealed class StopShellboxStatusServerCommand : ShellboxCmdlet
{
    /// <summary>The port of the server to stop; every server of this session when omitted.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateRange(1, 65535)]
    public int? Port { get; set; }

    protected override void ProcessRecord()
    {
        var servers = Port is { } port
            ? StatusServers.All.Where(s => s.Options.Port == port).ToList()
            : StatusServers.All;
        if (Port is not null && servers.Count == 0)
        {
            WriteError(ToErrorRecord(ShellboxException.NotFound("StatusServerNotRunning", $"No status server of this session listens on port {Port}."), Port));
            return;
        }

        foreach (var server in servers)
        {
            if (!ShouldProcess(server.Url.ToString(), "Stop the Shellbox status server"))
            {
                continue;
            }

            Run(async _ =>
            {
                StatusServers.Remove(server.Options.Port);
                await server.DisposeAsync().ConfigureAwait(false);
            });
        }
    }
}
