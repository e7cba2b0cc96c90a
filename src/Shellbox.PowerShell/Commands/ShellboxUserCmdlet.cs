using System.Management.Automation;
using Shellbox.Core.Users;

namespace Shellbox.PowerShell.Commands;

/// <summary>User cmdlets name the user by id, or by the public key it logs in with (the id is derived as the ssh wrapper does).</summary>
public abstract class ShellboxUserCmdlet : ShellboxCmdlet
{
    protected const string ById = "ById";
    protected const string ByKey = "ByPublicKey";

    /// <summary>The user id: what `ssh HOST whoami` prints for that user's key.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ById, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string UserId { get; set; } = "";

    /// <summary>The user's OpenSSH public key line, e.g. 'ssh-ed25519 AAAA... comment'.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ByKey, ValueFromPipeline = true)]
    [ValidateNotNullOrEmpty]
    public string PublicKey { get; set; } = "";

    /// <summary>The id of the user named; a malformed key is a library error, so call it inside Run.</summary>
    protected string TargetUserId() => ParameterSetName == ByKey ? UserKeys.UserIdOf(PublicKey) : UserId;
}
