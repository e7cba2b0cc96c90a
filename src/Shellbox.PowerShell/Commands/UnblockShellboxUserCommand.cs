using System.Management.Automation;
using Shellbox.Core.Users;
using Shellbox.PowerShell.Output;

namespace Shellbox.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Lifts the block of a user (a public key): its ssh commands work again.</para>
/// </summary>
/// <example><code>Get-ShellboxUser -Blocked | Unblock-ShellboxUser</code></example>
[Cmdlet(VerbsSecurity.Unblock, "ShellboxUser", SupportsShouldProcess = true, DefaultParameterSetName = ById)]
[OutputType(typeof(ShellboxUserInfo))]
public sealed class UnblockShellboxUserCommand : ShellboxUserCmdlet
{
    protected override void ProcessRecord()
    {
        var engine = Engine;
        Run(async cancellationToken =>
        {
            var userId = TargetUserId();
            if (!await ShouldProcessAsync(userId, "Unblock user").ConfigureAwait(false))
            {
                return;
            }

            if (!await new BlockList(engine).UnblockAsync(userId, cancellationToken).ConfigureAwait(false))
            {
                EmitWarning($"User '{userId}' was not blocked; nothing changed.");
            }

            Emit(new ShellboxUserInfo(await UserSummary.ReadAsync(engine, userId, cancellationToken).ConfigureAwait(false)));
        }, errorTarget: ParameterSetName == ById ? UserId : "public key");
    }
}
