using Azure;
using Azure.Core;
using Azure.Identity;
using Azure.ResourceManager;
using Azure.ResourceManager.Compute;
using Azure.ResourceManager.Compute.Models;
using Azure.ResourceManager.Resources;
using Shellbox.Core.Errors;
using Shellbox.Core.Ports;

namespace Shellbox.Azure.Tests.Arm;

/// <summary>The golden snapshot on Azure: built once on a temporary VM, snapshotted incrementally, and nothing temporary left behind.</summary>
public sealed class GoldenSnapshotTests : IAsyncLifetime
{
    private AzureOnEmulator azure = null!;

    public async Task InitializeAsync() => azure = await AzureOnEmulator.StartAsync();

    public async Task DisposeAsync() => await azure.DisposeAsync();

    [Fact]
    public async Task The_golden_is_built_by_the_agent_on_a_pinned_build_VM_snapshotted_incrementally_and_the_build_resources_are_gone()
    {
        var infrastructure = azure.Infrastructure();
        var progress = new List<ShellboxProgress>();

        var golden = await infrastructure.EnsureGoldenSnapshotAsync(new SynchronousProgress(progress));

        var state = azure.Emulator.State;
        var snapshot = Assert.Single(state.Snapshots);
        Assert.Equal(golden.Version, snapshot.Name);
        Assert.Equal(snapshot.Id, golden.Location, ignoreCase: true);
        Assert.True(snapshot.Incremental);
        Assert.All(GoldenFilesAgent.BoxFiles, file => Assert.True(File.Exists(Path.Combine(snapshot.Folder, file)), $"{file} is not in the snapshot"));
        Assert.Empty(state.VirtualMachines);
        Assert.Empty(state.Disks);
        Assert.Empty(state.NetworkInterfaces);

        var call = Assert.Single(azure.Agent.Calls);
        Assert.Equal(["build-golden", "--control-key", azure.ControlPublicKey, "--volume-gib", "32"], call.Arguments); // the box's disk follows azure.volumeSizeGB
        Assert.Contains(progress, p => p.Status.Contains("build-golden", StringComparison.Ordinal));
        Assert.Equal(golden, await infrastructure.GetGoldenSnapshotAsync());
    }

    [Fact]
    public async Task Another_build_script_names_another_golden()
    {
        var first = await azure.Infrastructure().EnsureGoldenSnapshotAsync();
        var folder = Directory.CreateTempSubdirectory("shellbox-script-").FullName;
        var script = Path.Combine(folder, "build-golden.sh");
        File.WriteAllText(script, "#!/bin/sh\necho changed\n");

        var changed = azure.Infrastructure(options: azure.Options with { GoldenScriptPath = script });
        Assert.Null(await changed.GetGoldenSnapshotAsync());
        var second = await changed.EnsureGoldenSnapshotAsync();
        Directory.Delete(folder, recursive: true);

        Assert.NotEqual(first.Version, second.Version);
        Assert.Equal(2, azure.Emulator.State.Snapshots.Count);
    }

    [Fact]
    public async Task A_change_to_a_guests_build_script_alone_names_another_golden()
    {
        // The same dispatcher both times; only the Debian guest's script beside it changes (a package added).
        var folder = Directory.CreateTempSubdirectory("shellbox-script-").FullName;
        var script = Path.Combine(folder, "build-golden.sh");
        var guest = Path.Combine(folder, "build-golden-debian.sh");
        File.WriteAllText(script, "#!/bin/sh\n. \"$(dirname \"$0\")/build-golden-debian.sh\"\n");
        File.WriteAllText(guest, "PACKAGES=\"openssh-server\"\n");
        var options = azure.Options with { GoldenScriptPath = script };
        var first = await azure.Infrastructure(options: options).EnsureGoldenSnapshotAsync();

        File.WriteAllText(guest, "PACKAGES=\"openssh-server qemu-guest-agent\"\n");
        var changed = azure.Infrastructure(options: options);
        Assert.Null(await changed.GetGoldenSnapshotAsync());
        var second = await changed.EnsureGoldenSnapshotAsync();
        Directory.Delete(folder, recursive: true);

        Assert.NotEqual(first.Version, second.Version);
    }

    [Fact]
    public async Task A_failed_golden_build_reports_the_agents_reason_and_leaves_no_temporary_resource()
    {
        azure.Agent.FailWith = "build-golden: qemu-system-x86_64 exited with 1";
        var infrastructure = azure.Infrastructure();

        var error = await Assert.ThrowsAsync<ShellboxException>(() => infrastructure.EnsureGoldenSnapshotAsync());

        Assert.Equal("GoldenBuildFailed", error.ErrorId);
        Assert.Contains("qemu-system-x86_64 exited with 1", error.Message);
        var state = azure.Emulator.State;
        Assert.Empty(state.VirtualMachines);
        Assert.Empty(state.Disks);
        Assert.Empty(state.NetworkInterfaces);
        Assert.Empty(state.Snapshots);
        Assert.Null(await infrastructure.GetGoldenSnapshotAsync());
    }

    [Fact]
    public async Task A_golden_build_cancelled_mid_way_leaves_no_temporary_resource()
    {
        azure.Agent.RunsUntilCancelled = true;
        using var cancel = new CancellationTokenSource();
        var build = azure.Infrastructure().EnsureGoldenSnapshotAsync(cancellationToken: cancel.Token);
        for (var i = 0; i < 400 && azure.Agent.Calls.IsEmpty; i++)
        {
            await Task.Delay(25);
        }

        Assert.NotEmpty(azure.Emulator.State.VirtualMachines); // the build VM was up when the operator cancelled
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => build);
        Assert.Empty(azure.Emulator.State.VirtualMachines);
        Assert.Empty(azure.Emulator.State.Disks);
        Assert.Empty(azure.Emulator.State.NetworkInterfaces);
        Assert.Empty(azure.Emulator.State.Snapshots);
    }

    [Fact]
    public async Task The_build_waits_for_cloud_init_to_install_the_agent()
    {
        azure.Agent.NotInstalledFor = 2;

        var golden = await azure.Infrastructure().EnsureGoldenSnapshotAsync();

        Assert.Equal(3, azure.Agent.Calls.Count);
        Assert.Equal(golden.Version, Assert.Single(azure.Emulator.State.Snapshots).Name);
    }

    [Fact]
    public async Task A_build_VM_that_never_answers_SSH_fails_in_time_and_leaves_no_temporary_resource()
    {
        var infrastructure = azure.Infrastructure(
            settings: azure.Settings with { InstanceSshPort = azure.Host.SshPort + 1 }, // nothing listens there
            options: azure.Options with { InstanceBootTimeout = TimeSpan.FromSeconds(1) });

        var error = await Assert.ThrowsAsync<ShellboxException>(() => infrastructure.EnsureGoldenSnapshotAsync());

        Assert.Equal("GoldenBootFailed", error.ErrorId);
        Assert.Empty(azure.Agent.Calls);
        Assert.Empty(azure.Emulator.State.VirtualMachines);
        Assert.Empty(azure.Emulator.State.Disks);
    }

    [Fact]
    public async Task Leftovers_of_a_build_that_died_long_ago_are_swept_and_a_running_build_is_left_alone()
    {
        // GIVEN build disks tagged by a build two days ago (its process died) and by one that started a minute ago
        var arm = new ArmClient(new ManagedIdentityCredential(ManagedIdentityId.SystemAssigned), azure.Settings.SubscriptionId, new ArmClientOptions
        {
            Environment = new ArmEnvironment(azure.Emulator.BaseUri, "https://management.azure.com/"),
            Transport = azure.Options.Transport!,
        });
        var group = arm.GetResourceGroupResource(ResourceGroupResource.CreateResourceIdentifier(azure.Settings.SubscriptionId, azure.Settings.ResourceGroup));
        async Task LeaveDiskAsync(string name, DateTimeOffset started)
        {
            var data = new ManagedDiskData(new AzureLocation(azure.Settings.Location)) { CreationData = new DiskCreationData(DiskCreateOption.Empty), DiskSizeGB = 4 };
            data.Tags["shellbox:golden-build"] = started.ToString("O");
            await group.GetManagedDisks().CreateOrUpdateAsync(WaitUntil.Completed, name, data);
        }

        await LeaveDiskAsync("golden-build-dead-data", DateTimeOffset.UtcNow.AddDays(-2));
        await LeaveDiskAsync("golden-build-busy-data", DateTimeOffset.UtcNow.AddMinutes(-1));
        await azure.Infrastructure().CreateInstanceAsync("golden-build-dead", new Dictionary<string, string> { ["shellbox:golden-build"] = DateTimeOffset.UtcNow.AddDays(-2).ToString("O") });

        // WHEN a golden build starts
        await azure.Infrastructure().EnsureGoldenSnapshotAsync();

        // THEN the dead build's VM (with its NIC and OS disk) and disk are gone, and the running one's disk is not
        Assert.Equal(["golden-build-busy-data"], azure.Emulator.State.Disks.Select(d => d.Name));
        Assert.Empty(azure.Emulator.State.VirtualMachines);
        Assert.Empty(azure.Emulator.State.NetworkInterfaces);
    }

    /// <summary>Progress&lt;T&gt; posts to the thread pool; a test wants every report before the call returns.</summary>
    private sealed class SynchronousProgress(List<ShellboxProgress> reports) : IProgress<ShellboxProgress>
    {
        public void Report(ShellboxProgress value)
        {
            lock (reports)
            {
                reports.Add(value);
            }
        }
    }
}
