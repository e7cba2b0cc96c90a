using System.Collections.Concurrent;
using System.Text;
using Azure;
using Azure.ResourceManager.Compute;
using Azure.ResourceManager.Compute.Models;

namespace Shellbox.ArmEmulator.Tests;

public sealed class VmHostTests
{
    [Fact]
    public async Task The_vm_host_hears_create_disk_changes_and_delete_before_each_operation_succeeds()
    {
        var host = new RecordingVmHost();
        await using var session = await EmulatorSession.StartAsync(data => new ArmEmulatorOptions { DataDirectory = data, VmHost = host });
        var disk = (await session.ResourceGroup.GetManagedDisks().CreateOrUpdateAsync(WaitUntil.Completed, "vol-a", ArmModels.EmptyDisk(session))).Value;
        var customData = Convert.ToBase64String(Encoding.UTF8.GetBytes("#!/bin/sh\necho hi\n"));
        var data = ArmModels.Vm(session, "vm1", new Dictionary<string, string> { ["shellbox:role"] = "instance" }, customData);
        data.StorageProfile.DataDisks.Add(ArmModels.Attach(2, disk.Id));

        var vm = (await session.ResourceGroup.GetVirtualMachines().CreateOrUpdateAsync(WaitUntil.Completed, "vm1", data)).Value;
        var started = Assert.Single(host.Started);
        Assert.Equal("vm1", started.Name);
        Assert.Equal(session.Server.State.FindNetworkInterface("vm1-nic")!.PrivateIp, started.PrivateIp);
        Assert.Equal("shellbox", started.AdminUsername);
        Assert.Equal([ArmModels.SshKey], started.SshPublicKeys);
        Assert.Equal(customData, started.CustomData);
        Assert.Equal("instance", started.Tags["shellbox:role"]);
        var attached = Assert.Single(host.DiskChanges);
        Assert.Equal(("vm1", session.Server.State.FindDisk("vol-a")!.Folder), (attached.Vm, attached.Folders[2]));

        // Compute 1.2.0 leaves an untouched DataDisks list out of the JSON; Clear() makes it an explicit [] (detach all).
        var detachAll = new VirtualMachinePatch { StorageProfile = new VirtualMachineStorageProfile() };
        detachAll.StorageProfile.DataDisks.Clear();
        await vm.UpdateAsync(WaitUntil.Completed, detachAll);
        Assert.Equal(2, host.DiskChanges.Count);
        Assert.Empty(host.DiskChanges.Last().Folders);

        var second = (await session.ResourceGroup.GetVirtualMachines().CreateOrUpdateAsync(WaitUntil.Completed, "vm2", ArmModels.Vm(session, "vm2"))).Value;
        Assert.NotEqual(started.PrivateIp, host.Started.Last().PrivateIp);

        await vm.DeleteAsync(WaitUntil.Completed);
        Assert.Equal(["vm1"], host.Stopped);
        Assert.NotNull(second);
    }

    [Fact]
    public async Task A_vm_host_that_cannot_start_the_vm_fails_the_create()
    {
        var host = new RecordingVmHost { FailStart = true };
        await using var session = await EmulatorSession.StartAsync(data => new ArmEmulatorOptions { DataDirectory = data, VmHost = host });

        var failed = await Assert.ThrowsAsync<RequestFailedException>(() =>
            session.ResourceGroup.GetVirtualMachines().CreateOrUpdateAsync(WaitUntil.Completed, "vm1", ArmModels.Vm(session, "vm1")));

        Assert.Contains("VMStartFailed", failed.Message);
        Assert.Equal("Failed", (await session.ResourceGroup.GetVirtualMachineAsync("vm1")).Value.Data.ProvisioningState);
    }

    private sealed class RecordingVmHost : IVmHost
    {
        public bool FailStart { get; init; }
        public ConcurrentQueue<EmulatedVm> Started { get; } = new();
        public ConcurrentQueue<string> Stopped { get; } = new();
        public ConcurrentQueue<(string Vm, IReadOnlyDictionary<int, string> Folders)> DiskChanges { get; } = new();

        public Task StartAsync(EmulatedVm vm, CancellationToken ct)
        {
            if (FailStart) throw new InvalidOperationException("no sshd");
            Started.Enqueue(vm);
            return Task.CompletedTask;
        }

        public Task StopAsync(string vmName, CancellationToken ct)
        {
            Stopped.Enqueue(vmName);
            return Task.CompletedTask;
        }

        public Task DataDisksChangedAsync(string vmName, IReadOnlyDictionary<int, string> diskFoldersByLun, CancellationToken ct)
        {
            DiskChanges.Enqueue((vmName, diskFoldersByLun));
            return Task.CompletedTask;
        }
    }
}
