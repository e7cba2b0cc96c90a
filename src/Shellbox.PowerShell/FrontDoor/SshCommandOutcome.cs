using Shellbox.PowerShell.Hosting;

namespace Shellbox.PowerShell.FrontDoor;

/// <summary>
/// How an ssh command ended: an exit code, or (connect) an open session whose terminal the caller hands to the box's
/// ssh, then closes. The caller owns the session: it is heartbeating until closed.
/// </summary>
internal sealed record SshCommandOutcome(int ExitCode, OpenSession? Session = null, string? BoxCommand = null);
