using System.Diagnostics;
using System.Net.Http.Json;

namespace Shellbox.ArmEmulator.Tests;

public sealed class StandaloneHostTests
{
    [Fact]
    public async Task The_standalone_host_prints_its_endpoints_serves_them_and_stops_cleanly_on_ctrl_c()
    {
        var data = Path.Combine(Path.GetTempPath(), "shellbox-armemu-tests", Guid.NewGuid().ToString("N"));
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "Shellbox.ArmEmulator.dll"), "--data", data, "--log" })
            start.ArgumentList.Add(argument);
        using var host = Process.Start(start)!;
        try
        {
            var lines = new Dictionary<string, string>();
            while (lines.Count < 9 && await host.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30)) is { } line)
            {
                var colon = line.IndexOf(": ", StringComparison.Ordinal);
                if (colon > 0) lines[line[..colon]] = line[(colon + 2)..];
            }
            Assert.StartsWith("https://127.0.0.1:", lines["base-url"]);
            Assert.True(File.Exists(lines["cert-pem"]));
            Assert.True(Guid.TryParse(lines["subscription-id"], out _));
            Assert.Equal("shellbox-rg", lines["resource-group"]);
            Assert.Equal("westeurope", lines["location"]);
            Assert.Equal("none (ARM only)", lines["vm-host"]);

            using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false });
            using var request = new HttpRequestMessage(HttpMethod.Get, $"{lines["identity-endpoint"]}?resource=https://management.azure.com/&api-version=2019-08-01")
            {
                Headers = { { "X-IDENTITY-HEADER", lines["identity-header"] } },
            };
            var token = await (await http.SendAsync(request)).Content.ReadFromJsonAsync<Dictionary<string, string>>();
            Assert.Equal("Bearer", token!["token_type"]);
            Assert.Contains("/msi/token", await host.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10)));

            Assert.Equal(0, Interrupt(host.Id));
            await host.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
            Assert.Equal(0, host.ExitCode);
        }
        finally
        {
            if (!host.HasExited) host.Kill(entireProcessTree: true);
            if (Directory.Exists(data)) Directory.Delete(data, recursive: true);
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill")]
    private static extern int Kill(int pid, int signal);

    private static int Interrupt(int pid) => Kill(pid, 2);
}
