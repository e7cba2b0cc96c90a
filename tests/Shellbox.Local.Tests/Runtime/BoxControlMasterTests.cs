using Shellbox.Local.Files;
using Shellbox.Local.Infrastructure;
using Shellbox.Local.Runtime;
using Shellbox.Local.Ssh;

namespace Shellbox.Local.Tests.Runtime;

/// <summary>The control master the Local runtime keeps to a running box: sessions ride it, and go direct without it.</summary>
[Collection(GoldenCollection.Name)]
public sealed class BoxControlMasterTests(GoldenFixture golden) : IAsyncLifetime
{
    private readonly TempFolder folder = new("shellbox-mux");
    private Core.Settings.ShellboxSettings settings = null!;

    public async Task InitializeAsync()
    {
        settings = GoldenFixture.Settings(folder.Path, 1, GoldenFixture.FreePortBlock(1));
        var infrastructure = new LocalInfrastructure(settings, golden.Options);
        await infrastructure.CreateInstanceAsync("instance-a", new Dictionary<string, string>());
        await infrastructure.CreateVolumeAsync("volume-a", golden.Golden, new Dictionary<string, string>());
        await infrastructure.AttachAsync("instance-a", "volume-a", new Dictionary<string, string>());
    }

    public async Task DisposeAsync()
    {
        await GoldenFixture.KillBoxesAsync(folder.Path);
        folder.Dispose();
    }

    [Fact]
    public async Task A_resumed_box_has_a_live_master_that_sessions_ride_a_suspend_stops_it_and_without_it_sessions_connect_directly()
    {
        var runtime = new QemuBoxRuntime(settings, golden.Options);
        var endpoint = await runtime.ResumeAsync("instance-a", "volume-a");
        var socket = BoxControlMaster.SocketPath(endpoint.ControlKeyPath, endpoint.HostKey)!;
        Assert.True(await WaitForMasterAsync(socket), "no live control master within 20 s: " + ReadLog(socket));

        // A session through the master, as Connect-ShellboxBox's ssh arguments make it.
        var knownHosts = folder.Combine("known_hosts");
        await File.WriteAllTextAsync(knownHosts, endpoint.HostKey + "\n");
        var through = await SessionAsync(endpoint, knownHosts, ["-o", "ControlPath=" + socket, "-o", "ControlMaster=no"]);
        Assert.True(through.ExitCode == 0, through.StdErr);
        Assert.Equal(BoxControlMaster.LoginUser, through.StdOut.Trim());
        var masterPid = MasterPid(socket);
        Assert.NotNull(masterPid);

        // The master killed (socket left behind, stale): the same arguments still reach the box, directly.
        Assert.Equal(0, (await ExternalTool.TryRunAsync("kill", ["-9", masterPid!.Value.ToString()], CancellationToken.None)).ExitCode);
        await Task.Delay(200);
        Assert.True(File.Exists(socket));
        var direct = await SessionAsync(endpoint, knownHosts, ["-o", "ControlPath=" + socket, "-o", "ControlMaster=no"]);
        Assert.True(direct.ExitCode == 0, direct.StdErr);
        Assert.Equal(BoxControlMaster.LoginUser, direct.StdOut.Trim());

        // A box found running without a live master gets a new one (the stale socket is removed first), once the
        // master it had is no longer starting (its known-hosts file dated back, as a minute later).
        File.SetLastWriteTimeUtc(Path.ChangeExtension(socket, ".known"), DateTime.UtcNow.AddMinutes(-1));
        await new QemuBoxRuntime(settings, golden.Options).ResumeAsync("instance-a", "volume-a");
        Assert.True(await WaitForMasterAsync(socket), "no new control master within 20 s: " + ReadLog(socket));
        var newPid = MasterPid(socket);
        Assert.NotNull(newPid);

        // A suspend leaves no master process and no socket.
        await runtime.SuspendAsync("instance-a", "volume-a");
        Assert.False(File.Exists(socket));
        Assert.False(IsAlive(newPid!.Value), "the master outlived the suspend: " + (File.Exists($"/proc/{newPid}/status") ? File.ReadAllText($"/proc/{newPid}/status")[..200] : ""));
    }

    private static Task<ExternalTool.Result> SessionAsync(Core.Ports.BoxEndpoint endpoint, string knownHosts, string[] extra) =>
        ExternalTool.TryRunAsync(
            "ssh",
            [
                "-F", "/dev/null", "-i", endpoint.ControlKeyPath, "-p", endpoint.Port.ToString(), "-o", "UserKnownHostsFile=" + knownHosts,
                "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", .. extra, BoxControlMaster.LoginUser + "@" + endpoint.Host, "id -un",
            ],
            CancellationToken.None);

    private static async Task<bool> WaitForMasterAsync(string socket)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            if (await BoxControlMaster.IsLiveAsync(socket))
            {
                return true;
            }

            await Task.Delay(100);
        }

        return false;
    }

    /// <summary>The master's pid, as `ssh -O check` prints it ("Master running (pid=123)").</summary>
    private static int? MasterPid(string socket)
    {
        var check = ExternalTool.TryRunAsync("ssh", ["-F", "/dev/null", "-o", "ControlPath=" + socket, "-O", "check", "x"], CancellationToken.None).GetAwaiter().GetResult();
        var text = check.StdErr + check.StdOut;
        var at = text.IndexOf("pid=", StringComparison.Ordinal);
        return at < 0 ? null : int.Parse(new string(text[(at + 4)..].TakeWhile(char.IsDigit).ToArray()));
    }

    /// <summary>A process that has exited (a zombie not yet reaped by init included) is not alive.</summary>
    private static bool IsAlive(int pid)
    {
        var status = $"/proc/{pid}/status";
        return File.Exists(status) && !File.ReadAllLines(status).Any(l => l.StartsWith("State:", StringComparison.Ordinal) && l.Contains('Z'));
    }

    private static string ReadLog(string socket) => File.Exists(Path.ChangeExtension(socket, ".log")) ? File.ReadAllText(Path.ChangeExtension(socket, ".log")) : "(no log)";
}
