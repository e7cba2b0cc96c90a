using System.Management.Automation;
using Shellbox.PowerShell.Output;

namespace Shellbox.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Makes the golden snapshot every new volume is cloned from: a box booted once and suspended.</para>
/// <para type="description">Idempotent: the version is named from a content hash of its inputs, and a second call finds
/// the same version and does nothing.</para>
/// </summary>
/// <example><code>New-ShellboxGoldenSnapshot</code></example>
[Cmdlet(VerbsCommon.New, "ShellboxGoldenSnapshot", SupportsShouldProcess = true)]
[OutputType(typeof(ShellboxGoldenSnapshotInfo))]
public sealed class NewShellboxGoldenSnapshotCommand : ShellboxCmdlet
{
    protected override void ProcessRecord()
    {
        var engine = Engine;
        if (!ShouldProcess(engine.Settings.StateDirectory, "Build or find the golden snapshot"))
        {
            return;
        }

        Run(async cancellationToken =>
        {
            var golden = await engine.Infrastructure.EnsureGoldenSnapshotAsync(Progress(), cancellationToken).ConfigureAwait(false);
            Emit(new ShellboxGoldenSnapshotInfo(golden.Version, golden.Location, golden.Created));
        });
    }
}
