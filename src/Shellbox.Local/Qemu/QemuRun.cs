using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Shellbox.Core.Errors;
using Shellbox.Local.Files;
using Shellbox.Local.Network;
using Shellbox.Local.Qmp;
using Shellbox.Local.Ssh;

namespace Shellbox.Local.Qemu;

/// <summary>
/// A running QEMU with its QMP connection: start it (fresh boot, or waiting for saved state), load saved
/// state, continue, and suspend (stop, save device state, quit, flush RAM). Used by the box runtime and
/// by the golden build, so both save and load state the same way.
/// </summary>
internal sealed class QemuRun : IAsyncDisposable
{
    private static readonly TimeSpan QmpTimeout = TimeSpan.FromSeconds(30);

    private QemuRun(QemuProcess process, QmpClient qmp)
    {
        Process = process;
        Qmp = qmp;
    }

    public QemuProcess Process { get; }

    public QmpClient Qmp { get; }

    /// <summary>Starts QEMU and connects to it; a QEMU that fails to come up is killed.</summary>
    public static async Task<QemuRun> StartAsync(string qemuBinary, QemuMachine machine, QemuLaunch launch, string runFolder, CancellationToken cancellationToken)
    {
        // A QEMU that just ended may hold the port for a moment; anything else holding it is a clear error.
        if (!await LoopbackPorts.WaitUntilFreeAsync(IPAddress.Parse(launch.Address), launch.Port, TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false))
        {
            throw ShellboxException.Service("PortInUse", $"Port {launch.Port} on {launch.Address}, where the box's SSH is forwarded, is in use by another program{(launch.Address == QemuMachine.LoopbackAddress ? "; choose another local.basePort" : "")}.");
        }

        var process = QemuProcess.Start(qemuBinary, machine.Arguments(launch), runFolder, launch.DnsServers);
        try
        {
            await SlirpNetwork.AttachAsync(process, launch.Address, launch.Port, cancellationToken).ConfigureAwait(false);
            var qmp = await process.ConnectQmpAsync(QmpTimeout, cancellationToken).ConfigureAwait(false);
            var run = new QemuRun(process, qmp);

            // Guest RAM lives in the shared RAM file, so migration must leave it out: on both sides, before migrating.
            await qmp.ExecuteAsync("migrate-set-capabilities", new { capabilities = new[] { new { capability = "x-ignore-shared", state = true } } }, cancellationToken).ConfigureAwait(false);
            return run;
        }
        catch
        {
            await process.KillAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// The QEMU already running for <paramref name="runFolder"/>, connected; null when none runs. Called under
    /// the run lock: a starter still waiting for its box network was left by a process that died, and is killed.
    /// </summary>
    public static async Task<QemuRun?> FindAsync(string runFolder, CancellationToken cancellationToken)
    {
        var process = QemuProcess.Find(runFolder);
        if (process is null)
        {
            return null;
        }

        if (process.IsWaitingForNetwork)
        {
            await process.KillAsync().ConfigureAwait(false);
            return null;
        }

        var qmp = await process.ConnectQmpAsync(QmpTimeout, cancellationToken).ConfigureAwait(false);
        return new QemuRun(process, qmp);
    }

    /// <summary>
    /// Loads saved device state into a QEMU started with -incoming defer. QEMU exits when the state does
    /// not load (corrupt, truncated, another machine's); that becomes one clear error.
    /// </summary>
    public async Task LoadStateAsync(string deviceStateFile, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            // exec:cat is safe in this direction: QEMU reads to the end of the stream before it closes the pipe.
            await Qmp.ExecuteAsync("migrate-incoming", new { uri = $"exec:cat {ShellQuote(deviceStateFile)}" }, deadline.Token).ConfigureAwait(false);
            await WaitForMigrationAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (QmpException e)
        {
            // QEMU refused the stream (it exits, or reports the migration failed): the state itself is unusable.
            var why = e.ErrorClass == "ConnectionClosed" ? "QEMU refused it and exited" : e.Description;
            var error = await LoadFailedAsync(deviceStateFile, why).ConfigureAwait(false);
            throw new SavedStateCorruptException(error.Message, e);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Slow, not known to be corrupt (a busy host): the same state may load on the next try.
            throw await LoadFailedAsync(deviceStateFile, $"it did not finish within {timeout.TotalSeconds:0} s", "StateLoadTimedOut").ConfigureAwait(false);
        }
    }

    public Task ContinueAsync(CancellationToken cancellationToken) => Qmp.ExecuteAsync("cont", null, cancellationToken);

    /// <summary>"running", "paused", "inmigrate", ... as QEMU reports it.</summary>
    public async Task<string> StatusAsync(CancellationToken cancellationToken)
    {
        var status = await Qmp.ExecuteAsync("query-status", null, cancellationToken).ConfigureAwait(false);
        return status.GetProperty("status").GetString() ?? "";
    }

    /// <summary>
    /// Suspends the box: stop the vCPU, save device state, quit, flush the RAM file, and only then put the
    /// state file in place. The rename is the commit: a crash before it leaves no state that could
    /// describe RAM which never reached the disk. With <paramref name="keepProcess"/> QEMU does not quit: it
    /// stays stopped after the finished migration ("postmigrate", its disk flushed and handed over), the state
    /// on the volume as complete as after a quit, so a resume in place is a `cont` and ending it is a `quit`.
    /// </summary>
    public async Task SuspendAsync(string deviceStateFile, string ramFile, bool keepProcess, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var temp = deviceStateFile + ".tmp";
        var socketPath = LocalFiles.Socket(Process.RunFolder, LocalFiles.MigrationSocket);
        File.Delete(socketPath);
        File.Delete(temp);
        try
        {
            // QEMU 7.2's exec: channel SIGTERMs its child as soon as the stream ends, which can cut off the
            // last bytes `cat > file` has not written yet; so we receive the stream ourselves on a socket.
            using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            listener.Bind(new UnixDomainSocketEndPoint(socketPath));
            listener.Listen(1);
            var receive = ReceiveStateAsync(listener, temp, deadline.Token);

            await Qmp.ExecuteAsync("stop", null, deadline.Token).ConfigureAwait(false);
            await Qmp.ExecuteAsync("migrate", new { uri = $"unix:{socketPath}" }, deadline.Token).ConfigureAwait(false);
            await WaitForMigrationAsync(deadline.Token).ConfigureAwait(false);
            await receive.ConfigureAwait(false);
            CheckStateFile(temp);
            if (!keepProcess)
            {
                await QuitAsync(timeout, deadline.Token, cancellationToken).ConfigureAwait(false);
            }

            // The guest RAM is in the page cache of the shared mapping; QEMU does not msync it on quit (and a stopped
            // QEMU kept for a linger writes none of it until `cont`).
            AtomicFile.Sync(ramFile);
            File.Move(temp, deviceStateFile, overwrite: true);
            AtomicFile.SyncDirectory(Path.GetDirectoryName(deviceStateFile)!);
        }
        catch (Exception e) when (e is QmpException or IOException or SocketException or OperationCanceledException)
        {
            File.Delete(temp);
            if (e is OperationCanceledException && cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            await TryContinueAsync().ConfigureAwait(false);
            throw Process.Failed("SuspendFailed", $"Saving the box's state failed ({(e is OperationCanceledException ? $"not done within {timeout.TotalSeconds:0} s" : e.Message)}); the box keeps running");
        }
        finally
        {
            File.Delete(socketPath);
        }
    }

    /// <summary>
    /// Pauses the running box, saves its device state to <paramref name="deviceStateFile"/> (elsewhere than its own
    /// volume: a copy's), runs <paramref name="whileStopped"/> (which copies RAM file and disk: both are still and
    /// flushed now), then lets the box go on. The box continues whether the copy worked or not.
    /// </summary>
    public async Task CheckpointAsync(string deviceStateFile, Func<Task> whileStopped, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var socketPath = LocalFiles.Socket(Process.RunFolder, LocalFiles.MigrationSocket);
        File.Delete(socketPath);
        try
        {
            using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            listener.Bind(new UnixDomainSocketEndPoint(socketPath));
            listener.Listen(1);
            var receive = ReceiveStateAsync(listener, deviceStateFile, deadline.Token);

            await Qmp.ExecuteAsync("stop", null, deadline.Token).ConfigureAwait(false);
            await Qmp.ExecuteAsync("migrate", new { uri = $"unix:{socketPath}" }, deadline.Token).ConfigureAwait(false);
            await WaitForMigrationAsync(deadline.Token).ConfigureAwait(false);
            await receive.ConfigureAwait(false);
            CheckStateFile(deviceStateFile);

            // The completed migration has flushed and handed over the disk: it is consistent with the state just saved.
            await whileStopped().ConfigureAwait(false);
        }
        catch (Exception e) when (e is QmpException or IOException or SocketException or OperationCanceledException)
        {
            if (e is OperationCanceledException && cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            throw Process.Failed("CheckpointFailed", $"Copying the running box failed ({(e is OperationCanceledException ? $"not done within {timeout.TotalSeconds:0} s" : e.Message)}); the box keeps running");
        }
        finally
        {
            File.Delete(socketPath);

            // `cont` takes the disk back from the finished migration and runs the guest on, in every case.
            await TryContinueAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Ends a QEMU whose box is saved already (kept stopped after a suspend): `quit`, and its run files go.</summary>
    public async Task QuitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        await QuitAsync(timeout, deadline.Token, cancellationToken).ConfigureAwait(false);
    }

    private async Task QuitAsync(TimeSpan timeout, CancellationToken deadline, CancellationToken cancellationToken)
    {
        try
        {
            await Qmp.ExecuteAsync("quit", null, deadline).ConfigureAwait(false);
        }
        catch (QmpException e) when (e.ErrorClass == "ConnectionClosed")
        {
            // QEMU may close the socket before its reply reaches us
        }

        if (!await Process.WaitForExitAsync(timeout, cancellationToken).ConfigureAwait(false))
        {
            throw Process.Failed("QemuQuitTimeout", "QEMU did not exit after quit");
        }

        Process.RemoveRunFiles();
    }

    /// <summary>Kills QEMU without saving anything.</summary>
    public async Task KillAsync()
    {
        await Qmp.DisposeAsync().ConfigureAwait(false);
        await Process.KillAsync().ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => Qmp.DisposeAsync();

    /// <summary>A saved device state starts with QEMU's migration magic "QEVM"; anything else is not one.</summary>
    public static void CheckStateFile(string path)
    {
        Span<byte> magic = stackalloc byte[4];
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        if (file.ReadAtLeast(magic, 4, throwOnEndOfStream: false) != 4 || !magic.SequenceEqual("QEVM"u8))
        {
            throw new IOException($"{path} is not a QEMU device state");
        }
    }

    private static async Task ReceiveStateAsync(Socket listener, string path, CancellationToken cancellationToken)
    {
        using var connection = await listener.AcceptAsync(cancellationToken).ConfigureAwait(false);
        await using var network = new NetworkStream(connection, ownsSocket: false);
        await using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
        await network.CopyToAsync(file, cancellationToken).ConfigureAwait(false);
        file.Flush(flushToDisk: true);
    }

    private async Task WaitForMigrationAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var info = await Qmp.ExecuteAsync("query-migrate", null, cancellationToken).ConfigureAwait(false);
            var status = info.ValueKind == JsonValueKind.Object && info.TryGetProperty("status", out var s) ? s.GetString() : null;
            switch (status)
            {
                case "completed":
                    return;
                case "failed" or "cancelled":
                    var why = info.TryGetProperty("error-desc", out var d) ? d.GetString() : status;
                    throw new QmpException("migrate", "MigrationFailed", why ?? "migration failed");
            }

            await Task.Delay(5, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task TryContinueAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await Qmp.ExecuteAsync("cont", null, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is QmpException or OperationCanceledException)
        {
            // QEMU is gone or refuses: the error we are about to throw says the suspend failed
            Core.Observability.ShellboxLog.Dropped("Shellbox.Local.Qemu", "cont after a failed suspend refused", e);
        }
    }

    private async Task<ShellboxException> LoadFailedAsync(string deviceStateFile, string why, string errorId = SavedStateCorruptException.Id)
    {
        // QEMU logs why it refused the state and exits: give it a moment so the error can quote it.
        await Process.WaitForExitAsync(TimeSpan.FromSeconds(3), CancellationToken.None).ConfigureAwait(false);
        var error = Process.Failed(errorId, $"The saved state {deviceStateFile} could not be loaded ({why}); the box was not started and its disk is untouched");
        await KillAsync().ConfigureAwait(false);
        return error;
    }

    private static string ShellQuote(string value) => "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
