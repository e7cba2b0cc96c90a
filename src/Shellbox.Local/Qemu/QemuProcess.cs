using System.Diagnostics;
using Shellbox.Core.Errors;
using Shellbox.Local.Files;
using Shellbox.Local.Network;
using Shellbox.Local.Qmp;

namespace Shellbox.Local.Qemu;

/// <summary>
/// One QEMU process and its run folder (qemu.pid, qmp.sock, qemu.log, console.log). QEMU runs in its own
/// session (setsid): a Ctrl+C in the user's terminal does not reach it, and it outlives the process that
/// started it. Later processes find it again through qemu.pid, checked against /proc so a reused pid
/// never passes for it.
/// </summary>
internal sealed class QemuProcess
{
    private readonly Process? child;

    private QemuProcess(int pid, string runFolder, Process? child)
    {
        Pid = pid;
        RunFolder = runFolder;
        this.child = child;
    }

    public int Pid { get; }

    public string RunFolder { get; }

    public string QmpSocket => LocalFiles.Socket(RunFolder, LocalFiles.Qmp);

    public string ConsoleLog => Path.Combine(RunFolder, LocalFiles.Console);

    public string QemuLog => Path.Combine(RunFolder, LocalFiles.QemuLog);

    private string PidFile => Path.Combine(RunFolder, LocalFiles.Pid);

    /// <summary>
    /// Starts QEMU detached from our session, in its own network namespace (<see cref="BoxNamespace"/>: the
    /// caller attaches its network, <see cref="Network.SlirpNetwork"/>); its stdout and stderr go to qemu.log.
    /// </summary>
    public static QemuProcess Start(string qemuBinary, IReadOnlyList<string> arguments, string runFolder, IReadOnlyList<string>? dnsServers)
    {
        Directory.CreateDirectory(runFolder);
        File.Delete(LocalFiles.Socket(runFolder, LocalFiles.Qmp));
        var start = new ProcessStartInfo("setsid") { UseShellExecute = false };
        var command = BoxNamespace.Wrap(runFolder, dnsServers, [qemuBinary, .. arguments]);

        // Not our pipes: QEMU must not die of SIGPIPE when the process that started it exits.
        foreach (var argument in (string[])["sh", "-c", "log=$1; shift; exec \"$@\" </dev/null >>\"$log\" 2>&1", "sh", Path.Combine(runFolder, LocalFiles.QemuLog), .. command])
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
            throw ShellboxException.Service("QemuMissing", $"Cannot start QEMU through setsid: {e.Message}. Are qemu-system-x86 and util-linux installed?", e);
        }

        var qemu = new QemuProcess(process.Id, runFolder, process);
        AtomicFile.WriteAllText(qemu.PidFile, process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return qemu;
    }

    /// <summary>The QEMU running for <paramref name="runFolder"/>, or null when none is.</summary>
    public static QemuProcess? Find(string runFolder)
    {
        var text = TryRead(Path.Combine(runFolder, LocalFiles.Pid));
        if (!int.TryParse(text?.Trim(), out var pid))
        {
            return null;
        }

        var qemu = new QemuProcess(pid, runFolder, null);
        return qemu.IsAlive ? qemu : null;
    }

    /// <summary>Alive, not a zombie, and still the QEMU of this run folder (pids get reused).</summary>
    public bool IsAlive
    {
        get
        {
            var stat = TryRead($"/proc/{Pid}/stat");
            var state = stat is null ? null : stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[0];
            if (state is null)
            {
                return false;
            }

            if (state is "Z" or "X")
            {
                // The main thread shows as a zombie while QEMU's other threads still exit, and its sockets
                // (the SSH port forward) close only with the last of them.
                return ThreadCount() > 1;
            }

            if (child is not null)
            {
                // Our own child: until setsid has exec'd, its command line is still ours, so ask the process.
                try
                {
                    return !child.HasExited;
                }
                catch (InvalidOperationException)
                {
                    return false;
                }
            }

            var commandLine = TryRead($"/proc/{Pid}/cmdline");
            return commandLine is not null && commandLine.Contains(QmpSocket.Replace(",", ",,", StringComparison.Ordinal), StringComparison.Ordinal);
        }
    }

    /// <summary>
    /// Still its starter's shell, waiting for the box network before it becomes QEMU: a process found so
    /// under the run lock was left by a starter that died, and never loaded anything.
    /// </summary>
    public bool IsWaitingForNetwork => TryRead($"/proc/{Pid}/comm")?.Trim() is "sh" or "unshare" or "setsid";

    private int ThreadCount()
    {
        try
        {
            return Directory.GetDirectories($"/proc/{Pid}/task").Length;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    /// <summary>Connects to QEMU's QMP socket, waiting for QEMU to create it; fails at once if QEMU exits.</summary>
    public async Task<QmpClient> ConnectQmpAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        while (true)
        {
            if (!IsAlive)
            {
                throw Failed("QemuExited", "QEMU exited before it opened its QMP socket");
            }

            if (File.Exists(QmpSocket))
            {
                try
                {
                    return await QmpClient.ConnectAsync(QmpSocket, deadline.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is System.Net.Sockets.SocketException or QmpException or IOException && !deadline.IsCancellationRequested)
                {
                    // QEMU creates the socket file before it listens, or is just going away: look again
                }
            }

            try
            {
                await Task.Delay(10, deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw Failed("QemuUnresponsive", $"QEMU did not open its QMP socket within {timeout.TotalSeconds:0} s");
            }
        }
    }

    /// <summary>Waits until the process has exited; false when it still runs at the timeout.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (IsAlive)
        {
            if (DateTime.UtcNow >= deadline)
            {
                return false;
            }

            if (child is not null)
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                cts.CancelAfter(TimeSpan.FromMilliseconds(50));
                try
                {
                    await child.WaitForExitAsync(cts.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    // poll again: the pid check also covers a QEMU we did not start
                }
            }
            else
            {
                await Task.Delay(10, cancellationToken).ConfigureAwait(false);
            }
        }

        return true;
    }

    /// <summary>Kills QEMU (SIGKILL), waits for it to be gone and removes its run files.</summary>
    public async Task KillAsync()
    {
        if (IsAlive)
        {
            try
            {
                using var process = Process.GetProcessById(Pid);
                // The tree: a starter still waiting for its network has a child (head, reading the ready fifo).
                process.Kill(entireProcessTree: true);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // already gone
            }

            await WaitForExitAsync(TimeSpan.FromSeconds(10), CancellationToken.None).ConfigureAwait(false);
        }

        RemoveRunFiles();
    }

    /// <summary>Forgets the process: removes qemu.pid and the sockets (the logs stay for diagnosis).</summary>
    public void RemoveRunFiles()
    {
        File.Delete(PidFile);
        File.Delete(QmpSocket);
        File.Delete(LocalFiles.Socket(RunFolder, LocalFiles.MigrationSocket));
        BoxNamespace.RemoveRunFiles(RunFolder);
        child?.Dispose();
    }

    /// <summary>An error naming what QEMU said last and where its logs are.</summary>
    public ShellboxException Failed(string errorId, string what)
    {
        var said = LastLine(QemuLog);
        return ShellboxException.Service(errorId, $"{what}{(said is null ? "" : $": {said}")} (logs: {QemuLog}, {ConsoleLog}).");
    }

    private static string? LastLine(string path) => TryRead(path) is { } text ? ExternalTool.LastLine(text) : null;

    private static string? TryRead(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
