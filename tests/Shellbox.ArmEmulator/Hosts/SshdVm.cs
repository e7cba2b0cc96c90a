using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Shellbox.ArmEmulator.Hosts;

/// <summary>
/// One emulated VM made real: a folder and an sshd (run as root, `sshd -D`) listening on the VM's private
/// address, with the host key from its cloud-init data and its osProfile keys authorized. Sessions get the
/// agent's environment, as an instance's image would give it:
/// <code>
/// &lt;folder&gt;/sshd_config ssh_host_ed25519_key authorized_keys sshd.pid sshd.log
/// &lt;folder&gt;/agent/      SHELLBOX_AGENT_HOME (QEMU's run files)
/// &lt;folder&gt;/userdata    SHELLBOX_USERDATA: a link to the folder of the disk at LUN 0, absent while none is attached
/// </code>
/// </summary>
internal sealed class SshdVm
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(15);

    private readonly Process process;

    private SshdVm(EmulatedVm vm, string folder, Process process)
    {
        Vm = vm;
        Folder = folder;
        this.process = process;
    }

    public EmulatedVm Vm { get; }

    public string Folder { get; }

    public string AgentHome => Path.Combine(Folder, "agent");

    public string UserData => Path.Combine(Folder, "userdata");

    public static async Task<SshdVm> StartAsync(EmulatedVm vm, SshdVmHostOptions options, CancellationToken ct)
    {
        var hostKey = CloudInitHostKey.Ed25519Private(vm.CustomData)
            ?? throw new InvalidOperationException($"VM '{vm.Name}' has no ssh_keys.ed25519_private in its custom data: its sshd would have no pinned host key.");
        if (!UserExists(vm.AdminUsername))
        {
            throw new InvalidOperationException($"VM '{vm.Name}' logs in as '{vm.AdminUsername}', which is no user on this machine; emulated VMs run their sshd here, so tests use an existing user (root).");
        }

        // Short: QEMU's control socket under agent/run must stay within the 107-byte socket path limit.
        var folder = Path.Combine(options.DataDirectory, "vms", vm.Name);
        Directory.CreateDirectory(Path.Combine(folder, "agent"));
        var keyFile = Path.Combine(folder, "ssh_host_ed25519_key");
        File.Delete(keyFile);
        await File.WriteAllTextAsync(keyFile, hostKey, ct).ConfigureAwait(false);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite); // sshd refuses a readable key
        }
        await File.WriteAllLinesAsync(Path.Combine(folder, "authorized_keys"), vm.SshPublicKeys, ct).ConfigureAwait(false);
        var config = Path.Combine(folder, "sshd_config");
        await File.WriteAllTextAsync(config, Config(vm, folder, options), ct).ConfigureAwait(false);

        // Not the caller's stdout: an sshd left behind by a crashed run must not hold a test runner's pipe open.
        var start = new ProcessStartInfo(options.SshdPath) { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in (string[])["-D", "-f", config, "-E", Path.Combine(folder, "sshd.log")])
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"{options.SshdPath} did not start.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { }; // sshd logs to sshd.log (-E); anything else is drained
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var started = new SshdVm(vm, folder, process);
        try
        {
            await started.WaitForBannerAsync(options.InstanceSshPort, ct).ConfigureAwait(false);
        }
        catch
        {
            await started.StopAsync().ConfigureAwait(false);
            throw;
        }

        return started;
    }

    /// <summary>Points userdata at the disk attached at LUN 0, or removes it when none is.</summary>
    public void SetDataDisks(IReadOnlyDictionary<int, string> diskFoldersByLun)
    {
        if (diskFoldersByLun.TryGetValue(0, out var disk))
        {
            // A new link renamed over the old one: a session never sees userdata missing in between.
            var temp = UserData + ".new";
            File.Delete(temp);
            File.CreateSymbolicLink(temp, Path.GetFullPath(disk));
            if (rename(temp, UserData) != 0)
            {
                throw new IOException($"Cannot point {UserData} at {disk}: errno {Marshal.GetLastPInvokeError()}.");
            }
        }
        else
        {
            File.Delete(UserData);
        }
    }

    /// <summary>Stops the VM: its sshd, its sessions, and a box its agent left running (QEMU runs in its own session).</summary>
    public async Task StopAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync().ConfigureAwait(false);
        }

        process.Dispose();
        var pidFile = Path.Combine(AgentHome, "run", "qemu.pid");
        if (File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
            && File.Exists($"/proc/{pid}/cmdline") && File.ReadAllText($"/proc/{pid}/cmdline").Contains(AgentHome, StringComparison.Ordinal))
        {
            using var qemu = Process.GetProcessById(pid);
            qemu.Kill();
            await qemu.WaitForExitAsync().ConfigureAwait(false);
        }
    }

    private static string Config(EmulatedVm vm, string folder, SshdVmHostOptions options)
    {
        var environment = new Dictionary<string, string>
        {
            ["SHELLBOX_AGENT_HOME"] = Path.Combine(folder, "agent"),
            ["SHELLBOX_USERDATA"] = Path.Combine(folder, "userdata"),
            ["SHELLBOX_BOX_ADDRESS"] = vm.PrivateIp,
            ["PATH"] = $"{options.AgentDirectory}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        };
        foreach (var (name, value) in options.Environment)
        {
            environment[name] = value;
        }

        var setEnv = string.Join(' ', environment.Select(e => e.Value.Any(char.IsWhiteSpace) ? $"\"{e.Key}={e.Value}\"" : $"{e.Key}={e.Value}"));
        var config = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"ListenAddress {vm.PrivateIp}:{options.InstanceSshPort}")
            .AppendLine(CultureInfo.InvariantCulture, $"HostKey {Path.Combine(folder, "ssh_host_ed25519_key")}")
            .AppendLine(CultureInfo.InvariantCulture, $"PidFile {Path.Combine(folder, "sshd.pid")}")
            .AppendLine(CultureInfo.InvariantCulture, $"AuthorizedKeysFile {Path.Combine(folder, "authorized_keys")}")
            .AppendLine(CultureInfo.InvariantCulture, $"AllowUsers {vm.AdminUsername}")
            .AppendLine("PermitRootLogin prohibit-password")
            .AppendLine("PubkeyAuthentication yes")
            .AppendLine("PasswordAuthentication no")
            .AppendLine("KbdInteractiveAuthentication no")
            .AppendLine("UsePAM no")
            .AppendLine("StrictModes no") // the key files live in a test's temp folder
            .AppendLine("AllowTcpForwarding no")
            .AppendLine("X11Forwarding no")
            .AppendLine("PrintMotd no")
            .AppendLine("LogLevel ERROR")
            .AppendLine(CultureInfo.InvariantCulture, $"SetEnv {setEnv}");
        return config.ToString();
    }

    private async Task WaitForBannerAsync(int port, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + StartTimeout;
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"sshd of VM '{Vm.Name}' exited ({process.ExitCode}): {LastLog()}");
            }

            try
            {
                using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(Vm.PrivateIp, port, ct).ConfigureAwait(false);
                var buffer = new byte[8];
                if (await socket.ReceiveAsync(buffer, SocketFlags.None, ct).ConfigureAwait(false) > 0 && Encoding.ASCII.GetString(buffer).StartsWith("SSH-", StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (SocketException)
            {
                // not listening yet
            }

            await Task.Delay(20, ct).ConfigureAwait(false);
        }

        throw new InvalidOperationException($"sshd of VM '{Vm.Name}' did not answer on {Vm.PrivateIp}:{port} within {StartTimeout.TotalSeconds:0} s: {LastLog()}");
    }

    private string LastLog()
    {
        var log = Path.Combine(Folder, "sshd.log");
        return File.Exists(log) ? File.ReadAllText(log).Trim() : "no log";
    }

    // rename(2) replaces the link itself; File.Move follows a link to a folder and refuses it.
#pragma warning disable SYSLIB1054 // a plain DllImport is enough for test support
    [DllImport("libc", SetLastError = true)]
    private static extern int rename([MarshalAs(UnmanagedType.LPUTF8Str)] string oldPath, [MarshalAs(UnmanagedType.LPUTF8Str)] string newPath);
#pragma warning restore SYSLIB1054

    private static bool UserExists(string user) =>
        File.ReadLines("/etc/passwd").Any(l => l.StartsWith(user + ":", StringComparison.Ordinal));
}
