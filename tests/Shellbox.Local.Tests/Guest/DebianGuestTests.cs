using System.Globalization;
using Shellbox.Core.Model;
using Shellbox.Core.Ports;
using Shellbox.Local.Files;
using Shellbox.Local.Infrastructure;
using Shellbox.Local.Runtime;

namespace Shellbox.Local.Tests.Guest;

/// <summary>
/// The Debian guest as a user meets it, through real QEMU boxes cloned from the Debian golden: what the
/// login user finds, what each clone makes its own, what survives a suspend. Nothing here reaches a network
/// beyond loopback (no apt-get update).
/// </summary>
[Collection(DebianGuestCollection.Name)]
public sealed class DebianGuestTests(DebianGoldenFixture golden) : IAsyncLifetime
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);

    // The golden build logs in once as root to check the guest before suspending it (GoldenBuilder.CheckGuestAsync).
    private const int GoldenBuildRootLogins = 1;

    private readonly TempFolder folder = new("shellbox-debian");
    private Core.Settings.ShellboxSettings settings = null!;
    private LocalInfrastructure infrastructure = null!;
    private QemuBoxRuntime runtime = null!;

    public Task InitializeAsync()
    {
        settings = DebianGoldenFixture.Settings(folder.Path, 2, GoldenFixture.FreePortBlock(2));
        infrastructure = new LocalInfrastructure(settings, golden.Options);
        runtime = new QemuBoxRuntime(settings, golden.Options);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await GoldenFixture.KillBoxesAsync(folder.Path);
        folder.Dispose();
    }

    /// <summary>A box on its own instance; with a name, the volume is tagged as a connect's attach tags it.</summary>
    private async Task NewBoxAsync(string id, string? boxName)
    {
        var tags = boxName is null ? new Dictionary<string, string>() : new Dictionary<string, string> { [TagKeys.UserId] = "u1", [TagKeys.BoxName] = boxName };
        await infrastructure.CreateInstanceAsync($"instance-{id}", new Dictionary<string, string>());
        await infrastructure.CreateVolumeAsync($"volume-{id}", golden.Golden, new Dictionary<string, string>());
        await infrastructure.AttachAsync($"instance-{id}", $"volume-{id}", tags);
    }

    /// <summary>Runs <paramref name="command"/> as the login user with the OpenSSH client, the way a session reaches the box.</summary>
    private async Task<string> AsLoginUserAsync(BoxEndpoint endpoint, string command)
    {
        var knownHosts = folder.Combine($"known_hosts_{endpoint.Port}");
        await File.WriteAllTextAsync(knownHosts, endpoint.HostKey + "\n");
        var ssh = await ExternalTool.TryRunAsync(
            "ssh",
            ["-F", "/dev/null", "-i", endpoint.ControlKeyPath, "-p", endpoint.Port.ToString(CultureInfo.InvariantCulture), "-o", "UserKnownHostsFile=" + knownHosts,
             "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", $"{GuestKinds.LoginUser}@{endpoint.Host}", command],
            CancellationToken.None);
        Assert.True(ssh.ExitCode == 0, $"{command}: exit {ssh.ExitCode}: {ssh.StdErr}");
        return ssh.StdOut.Trim();
    }

    private async Task<string> AsRootAsync(BoxEndpoint endpoint, string command)
    {
        var result = await runtime.RunAsync(endpoint, command, CommandTimeout);
        Assert.True(result.ExitCode == 0, $"{command}: exit {result.ExitCode}: {result.StdErr}");
        return result.StdOut.Trim();
    }

    [Fact]
    public async Task A_fresh_box_gives_the_login_user_Debian_12_bash_sudo_apt_a_UTF8_locale_and_the_box_name_as_hostname()
    {
        await NewBoxAsync("a", "dev33");
        var endpoint = await runtime.ResumeAsync("instance-a", "volume-a");

        var lines = (await AsLoginUserAsync(endpoint, string.Join("; ",
            "echo \"$(whoami) $HOME $PWD $SHELL\"",
            "bash --version | head -n1",
            "sudo -n true && echo sudo-ok",
            "hostname",
            ". /etc/os-release && echo \"$ID $VERSION_ID\"",
            "apt-get --version | head -n1",
            "grep -h '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -n1",
            "locale charmap",
            "for t in curl git less vi ps ip ssh /usr/sbin/sshd; do command -v $t >/dev/null || echo missing $t; done; echo tools-checked",
            // The golden's hwclock makes the guest agent's guest-set-time quick; any use but -w is util-linux's, which works.
            "sudo -n hwclock --show --utc | grep -q '^20[0-9][0-9]-' && echo hwclock-ok"))).Split('\n');

        Assert.Equal("dev /home/dev /home/dev /bin/bash", lines[0]);
        Assert.StartsWith("GNU bash, version 5.", lines[1], StringComparison.Ordinal);
        Assert.Equal("sudo-ok", lines[2]);
        Assert.Equal("dev33", lines[3]);
        Assert.Equal("debian 12", lines[4]);
        Assert.StartsWith("apt 2.6", lines[5], StringComparison.Ordinal);
        Assert.StartsWith("deb http://deb.debian.org/debian bookworm main", lines[6], StringComparison.Ordinal);
        Assert.Equal("UTF-8", lines[7]);
        Assert.Equal("tools-checked", lines[8]); // no "missing" line before it
        Assert.Equal("hwclock-ok", lines[9]);
    }

    [Fact]
    public async Task A_ready_pairs_box_resumed_without_a_name_takes_its_name_as_hostname_when_claimed()
    {
        // GIVEN a box resumed by pairing, before anyone named it
        await NewBoxAsync("a", null);
        var paired = await runtime.ResumeAsync("instance-a", "volume-a");
        Assert.Equal("shellbox", await AsLoginUserAsync(paired, "hostname"));

        // WHEN a connect claims it for box dev44 THEN the running box is called dev44, now and after a suspend
        var claimed = await runtime.ResumeAsync("instance-a", "volume-a", "dev44", CancellationToken.None);
        Assert.Equal("dev44 dev44", await AsLoginUserAsync(claimed, "echo $(hostname) $(cat /etc/hostname)"));
        await runtime.SuspendAsync("instance-a", "volume-a");
        Assert.Equal("dev44", await AsLoginUserAsync(await runtime.ResumeAsync("instance-a", "volume-a"), "hostname"));
    }

    [Fact]
    public async Task A_claimed_running_box_is_named_through_its_guest_agent_in_the_kernel_etc_hostname_and_etc_hosts_with_no_SSH_login()
    {
        // GIVEN a ready pair's running box, still called shellbox, whose /etc/hosts has a line of the user's own
        await NewBoxAsync("a", null);
        var paired = await runtime.ResumeAsync("instance-a", "volume-a");
        await AsLoginUserAsync(paired, "echo '10.9.8.7 my-build-host' | sudo -n tee -a /etc/hosts >/dev/null");
        var logins = await RootLoginsAsync(paired);

        // WHEN a connect claims it for box dev55
        var claimed = await runtime.ResumeAsync("instance-a", "volume-a", "dev55", CancellationToken.None);

        // THEN the kernel, /etc/hostname and the 127.0.1.1 line say dev55, the rest of /etc/hosts is as it was, the name
        // resolves, and the control plane logged in as nobody for it (the guest agent's file commands did it)
        var lines = (await AsLoginUserAsync(claimed, "hostname; cat /etc/hostname; cat /etc/hosts; getent hosts dev55")).Split('\n');
        Assert.Equal(
            ["dev55", "dev55", "127.0.0.1\tlocalhost", "127.0.1.1\tdev55", "::1\t\tlocalhost ip6-localhost ip6-loopback", "10.9.8.7 my-build-host", "127.0.1.1       dev55"],
            lines);
        Assert.Equal(logins, await RootLoginsAsync(claimed));
    }

    [Fact]
    public async Task Two_clones_make_their_own_host_keys_machine_ids_and_random_numbers()
    {
        await NewBoxAsync("a", "one");
        await NewBoxAsync("b", "two");
        var boxes = await Task.WhenAll(runtime.ResumeAsync("instance-a", "volume-a"), runtime.ResumeAsync("instance-b", "volume-b"));

        Assert.NotEqual(boxes[0].HostKey.Split(' ')[^1], boxes[1].HostKey.Split(' ')[^1]);
        var probe = "cat /etc/machine-id; head -c 16 /dev/urandom | od -An -tx1 | tr -d ' '; cut -d' ' -f2 /etc/ssh/ssh_host_ed25519_key.pub; "
            + "hostname; cat /etc/hostname; grep '^127.0.1.1' /etc/hosts; ls /etc/ssh | grep -c '^ssh_host_'";
        var a = (await AsRootAsync(boxes[0], probe)).Split('\n');
        var b = (await AsRootAsync(boxes[1], probe)).Split('\n');
        Assert.Matches("^[0-9a-f]{32}$", a[0]);
        Assert.NotEqual(a[0], b[0]);
        Assert.NotEqual(a[1], b[1]);
        Assert.NotEqual(a[2], b[2]);

        // Each took its name at its first resume (kernel, /etc/hostname, /etc/hosts) and has one host key (and its .pub).
        Assert.Equal(["one", "one", "127.0.1.1\tone", "2"], a[3..]);
        Assert.Equal(["two", "two", "127.0.1.1\ttwo", "2"], b[3..]);

        // The key sshd presents is the one the box made, pinned by the control plane.
        Assert.EndsWith(a[2], boxes[0].HostKey, StringComparison.Ordinal);
        Assert.EndsWith(b[2], boxes[1].HostKey, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_file_in_home_and_a_running_process_survive_suspend_and_resume_and_the_clock_is_set_again()
    {
        await NewBoxAsync("a", "keep");
        var endpoint = await runtime.ResumeAsync("instance-a", "volume-a");
        await AsLoginUserAsync(endpoint, "echo kept > ~/note.txt; setsid sleep 1000 </dev/null >/dev/null 2>&1 & echo $! > /tmp/pid; sync");
        await runtime.SuspendAsync("instance-a", "volume-a");
        await Task.Delay(TimeSpan.FromSeconds(3)); // the guest clock stands still meanwhile

        var resumed = await runtime.ResumeAsync("instance-a", "volume-a");
        var before = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var lines = (await AsLoginUserAsync(resumed, "cat ~/note.txt; kill -0 $(cat /tmp/pid) && echo alive; date +%s")).Split('\n');
        Assert.Equal("kept", lines[0]);
        Assert.Equal("alive", lines[1]);
        AssertClockIsNow(lines[2], before);
    }

    [Fact]
    public async Task A_box_gets_its_own_host_key_and_later_its_clock_through_its_guest_agent_with_no_SSH_login_for_them()
    {
        // GIVEN a box past its first resume (its own host key, machine-id and entropy), suspended a while
        await NewBoxAsync("a", "agent");
        var endpoint = await runtime.ResumeAsync("instance-a", "volume-a");
        var logins = await RootLoginsAsync(endpoint);
        Assert.Equal(GoldenBuildRootLogins, logins);
        Assert.EndsWith(await AsLoginUserAsync(endpoint, "cut -d' ' -f2 /etc/ssh/ssh_host_ed25519_key.pub"), endpoint.HostKey, StringComparison.Ordinal);
        await runtime.SuspendAsync("instance-a", "volume-a");
        await Task.Delay(TimeSpan.FromSeconds(3)); // the guest clock stands still meanwhile

        // WHEN it resumes THEN its clock is now and its name is its hostname, and the control plane logged in as nobody
        var resumed = await runtime.ResumeAsync("instance-a", "volume-a");
        var before = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var lines = (await AsLoginUserAsync(resumed, "date +%s; hostname")).Split('\n');
        AssertClockIsNow(lines[0], before);
        Assert.Equal("agent", lines[1]);
        Assert.Equal(logins, await RootLoginsAsync(resumed));
    }

    [Fact]
    public async Task A_box_suspended_in_place_for_a_linger_continues_in_the_same_QEMU_with_its_clock_set_and_its_control_master_alive()
    {
        // GIVEN a box past its first resume, with a process and its control master, suspended for a linger a while
        await NewBoxAsync("a", "stay");
        var endpoint = await runtime.ResumeAsync("instance-a", "volume-a");
        await AsLoginUserAsync(endpoint, "setsid sleep 1000 </dev/null >/dev/null 2>&1 & echo $! > /tmp/pid");
        var master = Shellbox.Local.Ssh.BoxControlMaster.SocketPath(endpoint.ControlKeyPath, endpoint.HostKey)!;
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!await Shellbox.Local.Ssh.BoxControlMaster.IsLiveAsync(master) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }

        Assert.True(await Shellbox.Local.Ssh.BoxControlMaster.IsLiveAsync(master), "no control master to the box");
        var qemu = Qemu.QemuProcess.Find(folder.Combine("instances", "instance-a"))!.Pid;
        var logins = await RootLoginsAsync(endpoint);
        await runtime.SuspendInPlaceAsync("instance-a", "volume-a", CancellationToken.None);
        Assert.True(File.Exists(folder.Combine("volumes", "volume-a", LocalFiles.DeviceState))); // saved, as by any suspend
        await Task.Delay(TimeSpan.FromSeconds(3)); // the guest clock stands still meanwhile

        // WHEN it resumes THEN the same QEMU goes on, its clock is now, its process alive, its master still the same
        var resumed = await runtime.ResumeAsync("instance-a", "volume-a");
        var before = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var lines = (await AsLoginUserAsync(resumed, "date +%s; kill -0 $(cat /tmp/pid) && echo alive")).Split('\n');
        AssertClockIsNow(lines[0], before);
        Assert.Equal("alive", lines[1]);
        Assert.Equal(qemu, Qemu.QemuProcess.Find(folder.Combine("instances", "instance-a"))?.Pid);
        Assert.True(await Shellbox.Local.Ssh.BoxControlMaster.IsLiveAsync(master), "the control master did not outlive the linger");
        Assert.Equal(logins, await RootLoginsAsync(resumed)); // the clock through the guest agent, no SSH login

        // AND a plain suspend then ends the kept QEMU and leaves the box resumable from its volume
        await runtime.SuspendInPlaceAsync("instance-a", "volume-a", CancellationToken.None);
        await runtime.SuspendAsync("instance-a", "volume-a");
        Assert.Null(Qemu.QemuProcess.Find(folder.Combine("instances", "instance-a")));
        Assert.False(await Shellbox.Local.Ssh.BoxControlMaster.IsLiveAsync(master));
        var back = await runtime.ResumeAsync("instance-a", "volume-a");
        Assert.Equal("alive", (await AsLoginUserAsync(back, "kill -0 $(cat /tmp/pid) && echo alive")).Trim());
    }

    [Fact]
    public async Task A_box_whose_root_stopped_its_guest_agent_still_gets_its_clock_and_name_over_SSH()
    {
        await NewBoxAsync("a", "noagent");
        var endpoint = await runtime.ResumeAsync("instance-a", "volume-a");
        await AsLoginUserAsync(endpoint, "sudo -n systemctl mask --now --quiet qemu-guest-agent.service && echo 'nameless' | sudo -n tee /etc/hostname >/dev/null && sudo -n hostname nameless");
        var logins = await RootLoginsAsync(endpoint);
        await runtime.SuspendAsync("instance-a", "volume-a");
        await Task.Delay(TimeSpan.FromSeconds(3));

        var resumed = await runtime.ResumeAsync("instance-a", "volume-a", "renamed", CancellationToken.None);
        var before = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var lines = (await AsLoginUserAsync(resumed, "date +%s; hostname")).Split('\n');
        AssertClockIsNow(lines[0], before);
        Assert.Equal("renamed", lines[1]);
        Assert.True(await RootLoginsAsync(resumed) > logins, "the clock was set without the SSH login it needs when the box has no guest agent");
    }

    /// <summary>The box's `date +%s`, read after <paramref name="before"/> (the host's clock then), is the host's time within a second.</summary>
    private static void AssertClockIsNow(string boxSeconds, long before) =>
        Assert.InRange(long.Parse(boxSeconds, CultureInfo.InvariantCulture), before - 1, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);

    /// <summary>
    /// How many times anyone logged in to the box as root (sshd's journal, which every clone has from its golden: the
    /// golden build's own check of the guest is one). A login's time cannot tell them apart: a resumed box logs it
    /// before its clock is set, at its golden's time.
    /// </summary>
    private async Task<int> RootLoginsAsync(BoxEndpoint endpoint) =>
        int.Parse(await AsLoginUserAsync(endpoint, "sudo -n journalctl -q --no-pager -m -t sshd | grep -c 'Accepted publickey for root' || true"), CultureInfo.InvariantCulture);

    [Fact]
    public async Task A_new_volume_takes_under_50_MB_until_its_first_resume_copies_the_golden_RAM_in()
    {
        await NewBoxAsync("a", null);
        var volume = folder.Combine("volumes", "volume-a");
        Assert.InRange(await DiskUsageAsync(volume), 0, 50L * 1024 * 1024);

        await runtime.ResumeAsync("instance-a", "volume-a");
        Assert.Equal(DebianGoldenFixture.MemoryMiB * 1024L * 1024, new FileInfo(Path.Combine(volume, LocalFiles.Ram)).Length);
    }

    private static async Task<long> DiskUsageAsync(string folder)
    {
        var du = await ExternalTool.RunAsync("du", ["-s", "-B1", folder], CancellationToken.None);
        return long.Parse(du.Split('\t')[0], CultureInfo.InvariantCulture);
    }
}
