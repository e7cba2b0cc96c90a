using System.Diagnostics;
using Shellbox.Core.Errors;

namespace Shellbox.Local.Files;

/// <summary>Runs a host tool (qemu-img, cp, ssh-keygen, the golden build script) and returns its output.</summary>
internal static class ExternalTool
{
    public sealed record Result(int ExitCode, string StdOut, string StdErr);

    /// <summary>Runs the tool; a non-zero exit is a <see cref="ShellboxException"/> quoting its last error line.</summary>
    public static async Task<string> RunAsync(string file, IEnumerable<string> arguments, CancellationToken cancellationToken, string? errorId = null)
    {
        var result = await TryRunAsync(file, arguments, cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            var why = LastLine(result.StdErr) ?? LastLine(result.StdOut) ?? $"exit code {result.ExitCode}";
            throw ShellboxException.Service(errorId ?? "HostToolFailed", $"{Path.GetFileName(file)} failed: {why}");
        }

        return result.StdOut;
    }

    public static async Task<Result> TryRunAsync(string file, IEnumerable<string> arguments, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("no process");
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            throw ShellboxException.Service("HostToolMissing", $"Cannot run '{file}': {e.Message}. Is it installed?", e);
        }

        using (process)
        {
            process.StandardInput.Close();
            var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
            var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
            try
            {
                await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw;
            }

            return new Result(process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
        }
    }

    public static string? LastLine(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
}
