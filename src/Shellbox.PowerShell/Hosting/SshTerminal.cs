using System.Diagnostics;
using System.Runtime.InteropServices;
using Shellbox.Core.Errors;
using Shellbox.PowerShell.Output;

namespace Shellbox.PowerShell.Hosting;

/// <summary>
/// Hands the terminal to the box: runs the OpenSSH client with our stdin/stdout/stderr. Arguments go
/// through ArgumentList, never through a shell on this machine; a remote command is one argument that
/// the box's own shell runs, as `ssh host cmd` would.
/// </summary>
internal static class SshTerminal
{
    public static int Run(ShellboxConnection connection, string? command, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("ssh") { UseShellExecute = false };
        foreach (var argument in Arguments(connection, command, interactive: !Console.IsInputRedirected && !Console.IsOutputRedirected))
        {
            start.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("ssh did not start.");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw ShellboxException.Service("SshClientMissing", $"The OpenSSH client (ssh) cannot be started: {e.Message}", e);
        }

        // A hang-up (the user's connection dropped) or a TERM from sshd must not kill us before the
        // session is disconnected: ssh gets the same signal and exits, then the caller disconnects.
        using (process)
        using (cancellationToken.Register(() => TryKill(process)))
        using (PosixSignalRegistration.Create(PosixSignal.SIGHUP, c => c.Cancel = true))
        using (PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; TryKill(process); }))
        {
            process.WaitForExit();
            return process.ExitCode;
        }
    }

    /// <summary>
    /// The ssh arguments into the box. The box's session gets a terminal when ours is one (interactive: the user's own
    /// ssh asked for it, by a login without a command or by `ssh -t HOST connect NAME vim notes.txt`), as `ssh -t`
    /// would give it; a plain `ssh HOST connect NAME cmd` or a pipe gets none, and its bytes pass unchanged.
    /// </summary>
    public static IReadOnlyList<string> Arguments(ShellboxConnection connection, string? command, bool interactive)
    {
        var arguments = new List<string>(connection.SshArguments);
        arguments.Insert(0, interactive ? "-t" : "-T");
        if (!string.IsNullOrEmpty(command))
        {
            arguments.Add("--");
            arguments.Add(command);
        }

        return arguments;
    }

    private static void TryKill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }
}
