using System.Management.Automation;
using Shellbox.Core.Boxes;
using Shellbox.PowerShell.Hosting;
using Shellbox.PowerShell.Output;

namespace Shellbox.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Keeps a box running after its last session leaves (ssh: keepalive NAME DURATION), or turns that off.</para>
/// <para type="description">With a keepalive the box's background jobs go on for up to DURATION after the last disconnect,
/// then it is suspended. The longest allowed is keepalive.max in shellbox.json (default 4h). -Off (or -Duration off)
/// restores the default, suspend on disconnect, and suspends a box kept running with nobody connected now.</para>
/// </summary>
/// <example><code>Set-ShellboxBoxKeepalive -Name dev33 -Duration 2h</code></example>
/// <example><code>Set-ShellboxBoxKeepalive -Name dev33 -Off</code></example>
[Cmdlet(VerbsCommon.Set, "ShellboxBoxKeepalive", SupportsShouldProcess = true, DefaultParameterSetName = ForDuration)]
[OutputType(typeof(ShellboxBoxInfo))]
public sealed class SetShellboxBoxKeepaliveCommand : ShellboxBoxCmdlet
{
    private const string ForDuration = "Duration";
    private const string ForOff = "Off";

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(BoxNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    /// <summary>How long the box keeps running after its last session leaves: 30m, 2h, 1h30m, or off.</summary>
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = ForDuration)]
    [ValidateNotNullOrEmpty]
    public string Duration { get; set; } = "";

    /// <summary>Suspend on disconnect again (the default).</summary>
    [Parameter(Mandatory = true, ParameterSetName = ForOff)]
    public SwitchParameter Off { get; set; }

    protected override void ProcessRecord()
    {
        var engine = Engine;
        var target = $"{Owner}/{Name}";
        TimeSpan? duration;
        try
        {
            duration = Off ? null : KeepaliveDuration.Parse(Duration);
        }
        catch (Core.Errors.ShellboxException e)
        {
            WriteError(ToErrorRecord(e, target));
            return;
        }

        if (!ShouldProcess(target, duration is { } d ? $"Keep running for up to {KeepaliveDuration.Format(d)} after the last session leaves" : "Suspend on disconnect (keepalive off)"))
        {
            return;
        }

        Run(async cancellationToken => Emit(new ShellboxBoxInfo(await new KeepaliveFlow(engine).SetAsync(Owner, Name, duration, cancellationToken).ConfigureAwait(false))), errorTarget: target);
    }
}
