using System.Diagnostics;
using System.Text;
using Shellbox.ArmEmulator;
using Shellbox.ArmEmulator.Hosts;
using Shellbox.Azure.Runtime;
using Shellbox.Core.Model;
using Shellbox.Core.Ports;
using Shellbox.Core.Settings;
using Shellbox.Local;
using Shellbox.Local.Infrastructure;

namespace Shellbox.Azure.Tests.Runtime;

/// <summary>
/// Emulated instances for the runtime tests: an <see cref="SshdVmHost"/> (a real sshd per VM, on its own
/// loopback address, running the built shellbox-agent), an admin key the VMs authorize, and a golden data
/// disk made once through the agent (build-golden over SSH) from the Local golden cached in
/// &lt;repo&gt;/.cache/golden, so a run with a warm cache builds nothing. VMs are started on the host
/// directly (not through the ARM emulator): these tests are about the runtime, not ARM.
/// </summary>
public sealed class AgentHostFixture : IAsyncLifetime
{
    private static readonly TimeSpan GoldenBuildTimeout = TimeSpan.FromMinutes(10);
    private readonly string addressPrefix = $"127.{Random.Shared.Next(20, 250)}.{Random.Shared.Next(0, 250)}.";
    private int nextAddress;
    private int nextProvider;
    private SshdVmHost? host;

    public string Folder { get; } = Directory.CreateTempSubdirectory("shellbox-agentrt-").FullName;

    public SshdVmHost Host => host ?? throw new InvalidOperationException("The fixture did not start its VM host.");

    /// <summary>The admin key pair the VMs authorize (what the control plane logs in to instances with).</summary>
    public string AdminKeyPath => Path.Combine(Folder, "admin_ed25519");

    /// <summary>The control key boxes authorize (the Local golden cache's).</summary>
    public string ControlKeyPath { get; private set; } = null!;

    /// <summary>The golden data disk build-golden wrote: volumes are copies of this folder, as disks copied from its snapshot.</summary>
    public string GoldenDisk => Path.Combine(Folder, "disks", "golden");

    public AgentGolden GoldenBuilt { get; private set; } = null!;

    public GoldenSnapshotInfo LocalGolden { get; private set; } = null!;

    public SshInstanceAgent Agent(string agentCommand = "shellbox-agent") => new("root", AdminKeyPath, agentCommand);

    public async Task InitializeAsync()
    {
        var repository = RepositoryRoot();
        var cache = Path.Combine(repository, ".cache");
        var options = new LocalProviderOptions { GoldenDirectory = Path.Combine(cache, "golden"), KeyDirectory = Path.Combine(cache, "keys") };
        var state = Directory.CreateDirectory(Path.Combine(Folder, "local")).FullName;
        // The minimal guest: these tests boot many boxes (the Debian guest is the end-to-end tests').
        var settings = new ShellboxSettings { Provider = ShellboxSettings.LocalProvider, StateDirectory = state, Pool = PoolConfig.Dev }
            .WithLocal(new LocalProviderSettings { Guest = GuestKinds.Minimal });
        var local = new LocalInfrastructure(settings, options);
        LocalGolden = await local.EnsureGoldenSnapshotAsync();
        ControlKeyPath = local.ControlKeyPath;

        await RunAsync("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "shellbox-admin", "-f", AdminKeyPath);
        host = new SshdVmHost(new SshdVmHostOptions
        {
            DataDirectory = Folder,
            AgentDirectory = AgentDirectory(repository),
            Environment = new Dictionary<string, string> { ["SHELLBOX_GOLDEN_CACHE"] = options.GoldenDirectory, ["SHELLBOX_BOX_GUEST"] = GuestKinds.Minimal },
        });

        // The golden disk: an empty data disk on a builder VM, filled by build-golden through the agent.
        var builder = await StartVmAsync("golden-builder");
        Directory.CreateDirectory(GoldenDisk);
        await Host.DataDisksChangedAsync(builder.Name, new Dictionary<int, string> { [0] = GoldenDisk }, CancellationToken.None);
        var result = await Agent().RunAsync(builder.Address, ["build-golden", "--control-key", (await File.ReadAllTextAsync(ControlKeyPath + ".pub")).Trim()], GoldenBuildTimeout);
        GoldenBuilt = AgentReply.Read<AgentGolden>(result, "build-golden");
        await Host.StopAsync(builder.Name, CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        if (host is not null)
        {
            await host.DisposeAsync(); // also after a failed start: the VMs it did start are stopped
        }

        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // a process still holding a file is reported by the test that leaked it
        }
    }

    /// <summary>A name prefix no other provider of this run uses (VM names are global to the host).</summary>
    public string NewPrefix() => $"p{Interlocked.Increment(ref nextProvider)}";

    /// <summary>Starts a VM with a fresh host key in its cloud-init data, logging in as root with the admin key.</summary>
    public async Task<StartedVm> StartVmAsync(string name)
    {
        var address = addressPrefix + Interlocked.Increment(ref nextAddress);
        var keyFile = Path.Combine(Folder, "hostkeys", name);
        Directory.CreateDirectory(Path.GetDirectoryName(keyFile)!);
        File.Delete(keyFile);
        File.Delete(keyFile + ".pub");
        await RunAsync("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", keyFile);
        var hostPublicKey = (await File.ReadAllTextAsync(keyFile + ".pub")).Trim();
        var customData = new StringBuilder("#cloud-config\nssh_keys:\n  ed25519_private: |\n");
        foreach (var line in (await File.ReadAllTextAsync(keyFile)).TrimEnd('\n').Split('\n'))
        {
            customData.Append("    ").Append(line).Append('\n');
        }

        customData.Append("  ed25519_public: ").Append(hostPublicKey).Append('\n');

        // AdminUsername root: the VM's sshd runs on this machine, where its admin user must exist.
        var vm = new EmulatedVm(
            name,
            address,
            "root",
            [(await File.ReadAllTextAsync(AdminKeyPath + ".pub")).Trim()],
            Convert.ToBase64String(Encoding.UTF8.GetBytes(customData.ToString())),
            new Dictionary<string, string>());
        await Host.StartAsync(vm, CancellationToken.None);
        return new StartedVm(name, new InstanceAddress(address, Host.Options.InstanceSshPort, hostPublicKey));
    }

    /// <summary>A fresh ed25519 public key that no VM has.</summary>
    public async Task<string> OtherPublicKeyAsync()
    {
        var keyFile = Path.Combine(Folder, "hostkeys", $"other-{Guid.NewGuid():N}");
        await RunAsync("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", keyFile);
        return (await File.ReadAllTextAsync(keyFile + ".pub")).Trim();
    }

    public static async Task RunAsync(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} failed ({process.ExitCode}): {await error}");
        }
    }

    private static string AgentDirectory(string repository)
    {
        // Same configuration as this test assembly: .../tests/Shellbox.Azure.Tests/bin/<Configuration>/net10.0/
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
        var folder = Path.Combine(repository, "src", "Shellbox.Agent", "bin", configuration, "net8.0");
        return File.Exists(Path.Combine(folder, "shellbox-agent"))
            ? folder
            : throw new InvalidOperationException($"The agent is not built at {folder}; build src/Shellbox.Agent.");
    }

    private static string RepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "Shellbox.PowerShell.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException($"No Shellbox.PowerShell.sln above {AppContext.BaseDirectory}.");
    }
}

/// <summary>A running emulated VM: its name and how to reach its sshd.</summary>
public sealed record StartedVm(string Name, InstanceAddress Address);

[CollectionDefinition(Name)]
public sealed class AgentHostCollection : ICollectionFixture<AgentHostFixture>
{
    public const string Name = "Emulated instances running shellbox-agent";
}
