using System.Management.Automation;
using Shellbox.Core.Users;
using Shellbox.PowerShell.Output;

namespace Shellbox.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Shows a user (by id or public key): blocked or not, boxes and running boxes against the quotas; or every blocked user.</para>
/// </summary>
/// <example><code>Get-ShellboxUser -Blocked</code></example>
/// <example><code>Get-ShellboxUser -PublicKey (Get-Content ~/.ssh/id_ed25519.pub)</code></example>
[Cmdlet(VerbsCommon.Get, "ShellboxUser", DefaultParameterSetName = BlockedSet)]
[OutputType(typeof(ShellboxUserInfo))]
public sealed class GetShellboxUserCommand : ShellboxUserCmdlet
{
    private const string BlockedSet = "Blocked";

    /// <summary>Every blocked user (the default when no user is named).</summary>
    [Parameter(ParameterSetName = BlockedSet)]
    public SwitchParameter Blocked { get; set; }

    protected override void ProcessRecord()
    {
        var engine = Engine;
        if (ParameterSetName == BlockedSet)
        {
            Run(async cancellationToken => (await UserSummary.ReadBlockedAsync(engine, cancellationToken).ConfigureAwait(false)).ToList().ForEach(u => Emit(new ShellboxUserInfo(u))));
            return;
        }

        Run(async cancellationToken => Emit(new ShellboxUserInfo(await UserSummary.ReadAsync(engine, TargetUserId(), cancellationToken).ConfigureAwait(false))),
            errorTarget: ParameterSetName == ById ? UserId : "public key");
    }
}
