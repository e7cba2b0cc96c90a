using System.Management.Automation;
using Shellbox.Core.Users;
using Shellbox.PowerShell.Output;

namespace Shellbox.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Blocks a user (a public key): every ssh command of that key gets one line and nothing else. The user's boxes are kept.</para>
/// </summary>
/// <example><code>Block-ShellboxUser -PublicKey (Get-Content ./mallory.pub) -Reason 'mining'</code></example>
/// <example><code>Block-ShellboxUser 3f9a0c...</code></example>
[Cmdlet(VerbsSecurity.Block, "ShellboxUser", SupportsShouldProcess = true, DefaultParameterSetName = ById)]
[OutputType(typeof(ShellboxUserInfo))]
public sealed class BlockShellboxUserCommand : ShellboxUserCmdlet
{
    /// <summary>Why, for the operators (Get-ShellboxUser, the block event); never shown to the user.</summary>
    [Parameter]
    public string? Reason { get; set; }

    protected override void ProcessRecord()
    {
        var engine = Engine;
        Run(async cancellationToken =>
        {
            var userId = TargetUserId();
            if (!await ShouldProcessAsync(userId, "Block user").ConfigureAwait(false))
            {
                return;
            }

            await new BlockList(engine).BlockAsync(userId, Reason, cancellationToken).ConfigureAwait(false);
            Emit(new ShellboxUserInfo(await UserSummary.ReadAsync(engine, userId, cancellationToken).ConfigureAwait(false)));
        }, errorTarget: ParameterSetName == ById ? UserId : "public key");
    }
}
