using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Shellbox.Azure.Tests.Store;

/// <summary>
/// A real Azurite table service (the npm package pinned in tests/azurite) on a free loopback port, in memory,
/// without telemetry, stopped on dispose. No xunit here, so a benchmark can start one too.
/// </summary>
public sealed class AzuriteProcess : IAsyncDisposable
{
    /// <summary>Azurite's published development account: a well-known constant, not a secret.</summary>
    public const string AccountName = "devstoreaccount1";

    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly Process process;
    private readonly string workspace;

    private AzuriteProcess(Process process, string workspace, int port)
    {
        this.process = process;
        this.workspace = workspace;
        TableEndpoint = new Uri($"http://127.0.0.1:{port}/{AccountName}");
    }

    public Uri TableEndpoint { get; }

    public string ConnectionString => $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};TableEndpoint={TableEndpoint};";

    /// <summary>Starts Azurite (running `npm ci` in tests/azurite first when its node_modules is missing) and waits until it answers.</summary>
    public static async Task<AzuriteProcess> StartAsync(CancellationToken cancellationToken = default)
    {
        var folder = Path.Combine(FindRepositoryRoot(), "tests", "azurite");
        var main = Path.Combine(folder, "node_modules", "azurite", "dist", "src", "table", "main.js");
        if (!File.Exists(main))
        {
            await RunAsync("npm", ["ci", "--no-audit", "--no-fund"], folder, TimeSpan.FromMinutes(5), cancellationToken);
        }

        var workspace = Directory.CreateTempSubdirectory("shellbox-azurite-").FullName;
        var port = FreeLoopbackPort();
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = workspace, // in memory; anything Azurite still writes (its cwd is its default location) stays here
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
        {
            main, "--inMemoryPersistence", "--disableTelemetry", "--skipApiVersionCheck", "--silent",
            "--tableHost", "127.0.0.1", "--tablePort", port.ToString(),
        })
        {
            start.ArgumentList.Add(argument);
        }

        var process = StartTool(start);
        var output = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var azurite = new AzuriteProcess(process, workspace, port);
        try
        {
            await azurite.WaitUntilListeningAsync(port, output, cancellationToken);
            return azurite;
        }
        catch
        {
            await azurite.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException)
        {
            // Already gone.
        }

        process.Dispose();
        try
        {
            Directory.Delete(workspace, recursive: true);
        }
        catch (IOException)
        {
            // Never fail a run on cleanup.
        }
    }

    private async Task WaitUntilListeningAsync(int port, System.Text.StringBuilder output, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"Azurite exited with {process.ExitCode}: {output}");
            }

            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(100, cancellationToken);
            }
        }

        throw new TimeoutException($"Azurite did not listen on 127.0.0.1:{port} within 60 s: {output}");
    }

    private static Process StartTool(ProcessStartInfo start)
    {
        try
        {
            return Process.Start(start) ?? throw new InvalidOperationException($"{start.FileName} did not start.");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"{start.FileName} is not installed ({e.Message}); run ./build.ps1 Bootstrap, which installs node and npm.", e);
        }
    }

    private static int FreeLoopbackPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "tests", "azurite", "package.json")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException($"No tests/azurite/package.json above {AppContext.BaseDirectory}.");
    }

    private static async Task RunAsync(string file, string[] arguments, string directory, TimeSpan limit, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = StartTool(start);
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken).WaitAsync(limit, cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} in {directory} failed ({process.ExitCode}): {await stderr}{await stdout}");
        }
    }
}
