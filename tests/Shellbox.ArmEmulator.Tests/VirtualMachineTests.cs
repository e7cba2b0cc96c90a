using System.Text;
using Azure;
using Azure.ResourceManager.Compute;
using Azure.ResourceManager.Compute.Models;

namespace Shellbox.ArmEmulator.Tests;

public sealed class VirtualMachineTests
{
    [Fact]
    public async Task Create_with_tags_custom_data_and_a_nic_configuration_then_get_shows_them()
    {
        await using var session = await EmulatorSession.StartAsync();
        var customData = Convert.ToBase64String(Encoding.UTF8.GetBytes("#cloud-config\nhostname: vm1\n"));

        var created = await session.ResourceGroup.GetVirtualMachines().CreateOrUpdateAsync(WaitUntil.Completed, "vm1",
            ArmModels.Vm(session, "vm1", new Dictionary<string, string> { ["shellbox:role"] = "instance", ["shellbox:status"] = "free" }, customData));

        var vm = (await session.ResourceGroup.GetVirtualMachineAsync("vm1")).Value;
        Assert.Equal("Succeeded", created.Value.Data.ProvisioningState);
        Assert.Equal("Succeeded", vm.Data.ProvisioningState);
        Assert.Equal("free", vm.Data.Tags["shellbox:status"]);
        Assert.Equal("shellbox", vm.Data.OSProfile.AdminUsername);
        Assert.Null(vm.Data.OSProfile.CustomData); // write-only, as in Azure
        Assert.Equal(customData, session.Server.State.FindVirtualMachine("vm1")!.CustomData);
        var nicId = Assert.Single(vm.Data.NetworkProfile.NetworkInterfaces).Id;
        Assert.EndsWith("/providers/Microsoft.Network/networkInterfaces/vm1-nic", nicId.ToString());
        Assert.Equal("vm1-os", vm.Data.StorageProfile.OSDisk.Name);

        var nic = await session.SendAsync(Azure.Core.RequestMethod.Get, $"{nicId}?api-version=2023-09-01");
        Assert.Equal(200, nic.Status);
        var ip = nic.Body!["properties"]!["ipConfigurations"]![0]!["properties"]!["privateIPAddress"]!.GetValue<string>();
        Assert.Equal(session.Server.State.FindVirtualMachine("vm1")!.PrivateIp, ip);
        Assert.StartsWith("127.0.1.", ip);
        Assert.All(session.Server.Requests.Snapshot(), r => Assert.False(string.IsNullOrEmpty(r.ApiVersion), r.ToString()));
    }

    [Fact]
    public async Task Patch_replaces_the_whole_tag_map_and_attaches_and_detaches_disks_in_one_call()
    {
        await using var session = await EmulatorSession.StartAsync();
        var disks = session.ResourceGroup.GetManagedDisks();
        var diskA = (await disks.CreateOrUpdateAsync(WaitUntil.Completed, "vol-a", ArmModels.EmptyDisk(session))).Value;
        var diskB = (await disks.CreateOrUpdateAsync(WaitUntil.Completed, "vol-b", ArmModels.EmptyDisk(session))).Value;
        var vm = (await session.ResourceGroup.GetVirtualMachines().CreateOrUpdateAsync(WaitUntil.Completed, "vm1",
            ArmModels.Vm(session, "vm1", new Dictionary<string, string> { ["shellbox:role"] = "instance", ["old"] = "x" }))).Value;
        var attachA = new VirtualMachinePatch { StorageProfile = new VirtualMachineStorageProfile() };
        attachA.StorageProfile.DataDisks.Add(ArmModels.Attach(0, diskA.Id));
        await vm.UpdateAsync(WaitUntil.Completed, attachA);
        Assert.Equal("Attached", session.Server.State.FindDisk("vol-a")!.DiskState);

        var mark = session.Server.Requests.Mark();
        var patch = new VirtualMachinePatch { StorageProfile = new VirtualMachineStorageProfile() };
        patch.Tags["shellbox:role"] = "instance";
        patch.Tags["shellbox:status"] = "connected";
        patch.StorageProfile.DataDisks.Add(ArmModels.Attach(1, diskB.Id));
        var updated = (await vm.UpdateAsync(WaitUntil.Completed, patch)).Value;

        Assert.Equal(1, session.Server.Requests.CountWritesSince(mark));
        // vm.UpdateAsync(WaitUntil.Completed): a PATCH answered 200 makes Azure.Core ignore Azure-AsyncOperation
        // and poll the VM itself until its provisioningState is final (here at once).
        Assert.Equal(["PATCH virtualMachines", "GET virtualMachines"],
            session.Server.Requests.Since(mark).Select(r => $"{r.Method} {r.Path.Split('/')[^2]}"));
        Assert.Equal(new Dictionary<string, string> { ["shellbox:role"] = "instance", ["shellbox:status"] = "connected" }, updated.Data.Tags);
        var dataDisk = Assert.Single(updated.Data.StorageProfile.DataDisks);
        Assert.Equal(1, dataDisk.Lun);
        Assert.Equal(diskB.Id, dataDisk.ManagedDisk.Id);
        var a = (await diskA.GetAsync()).Value.Data;
        var b = (await diskB.GetAsync()).Value.Data;
        Assert.Equal(DiskState.Unattached, a.DiskState);
        Assert.Null(a.ManagedBy);
        Assert.Equal(DiskState.Attached, b.DiskState);
        Assert.Equal(vm.Id, b.ManagedBy);
    }

    [Fact]
    public async Task Sending_back_the_data_disks_a_get_shows_keeps_them_and_adds_an_empty_one()
    {
        await using var session = await EmulatorSession.StartAsync();
        var data = ArmModels.Vm(session, "vm1");
        data.StorageProfile.DataDisks.Add(new VirtualMachineDataDisk(0, DiskCreateOptionType.Empty) { Name = "vm1-scratch", DiskSizeGB = 8 });
        var vm = (await session.ResourceGroup.GetVirtualMachines().CreateOrUpdateAsync(WaitUntil.Completed, "vm1", data)).Value;
        var scratchFolder = session.Server.State.FindDisk("vm1-scratch")!.Folder;

        var patch = new VirtualMachinePatch { StorageProfile = new VirtualMachineStorageProfile() };
        foreach (var disk in vm.Data.StorageProfile.DataDisks) patch.StorageProfile.DataDisks.Add(disk);
        patch.StorageProfile.DataDisks.Add(new VirtualMachineDataDisk(1, DiskCreateOptionType.Empty) { Name = "vm1-more", DiskSizeGB = 16 });
        var updated = (await vm.UpdateAsync(WaitUntil.Completed, patch)).Value;

        Assert.Equal(["vm1-scratch", "vm1-more"], updated.Data.StorageProfile.DataDisks.Select(d => d.Name));
        Assert.Equal(scratchFolder, session.Server.State.FindDisk("vm1-scratch")!.Folder);
        Assert.Equal(("Attached", vm.Id.ToString()), (session.Server.State.FindDisk("vm1-more")!.DiskState, session.Server.State.FindDisk("vm1-more")!.ManagedBy));
    }

    [Fact]
    public async Task Attach_detach_data_disks_swaps_disks_and_answers_the_storage_profile()
    {
        await using var session = await EmulatorSession.StartAsync();
        var disks = session.ResourceGroup.GetManagedDisks();
        var diskA = (await disks.CreateOrUpdateAsync(WaitUntil.Completed, "vol-a", ArmModels.EmptyDisk(session))).Value;
        var diskB = (await disks.CreateOrUpdateAsync(WaitUntil.Completed, "vol-b", ArmModels.EmptyDisk(session))).Value;
        var data = ArmModels.Vm(session, "vm1");
        data.StorageProfile.DataDisks.Add(ArmModels.Attach(0, diskA.Id));
        var vm = (await session.ResourceGroup.GetVirtualMachines().CreateOrUpdateAsync(WaitUntil.Completed, "vm1", data)).Value;

        var (status, _, raw) = await session.SendAsync(Azure.Core.RequestMethod.Post, $"{vm.Id}/attachDetachDataDisks?api-version=2024-03-01",
            new System.Text.Json.Nodes.JsonObject
            {
                ["dataDisksToAttach"] = new System.Text.Json.Nodes.JsonArray(new System.Text.Json.Nodes.JsonObject { ["diskId"] = diskB.Id.ToString(), ["lun"] = 3 }),
                ["dataDisksToDetach"] = new System.Text.Json.Nodes.JsonArray(new System.Text.Json.Nodes.JsonObject { ["diskId"] = diskA.Id.ToString() }),
            });
        Assert.Equal(202, status);
        Assert.True(raw.Headers.TryGetValue("Location", out var location));
        Assert.True(raw.Headers.TryGetValue("Azure-AsyncOperation", out var statusUrl));
        Assert.StartsWith(session.Server.BaseUri.ToString(), location);
        await Polling.UntilSucceededAsync(session, statusUrl!);
        var result = await session.SendAsync(Azure.Core.RequestMethod.Get, location!);

        Assert.Equal(200, result.Status);
        var attached = Assert.Single(result.Body!["dataDisks"]!.AsArray());
        Assert.Equal(3, attached!["lun"]!.GetValue<int>());
        Assert.Equal("vol-b", attached["name"]!.GetValue<string>());
        Assert.Equal("Unattached", session.Server.State.FindDisk("vol-a")!.DiskState);
        Assert.Equal(vm.Id.ToString(), session.Server.State.FindDisk("vol-b")!.ManagedBy);
    }

    [Fact]
    public async Task Delete_removes_the_nic_and_os_disk_and_detaches_data_disks()
    {
        await using var session = await EmulatorSession.StartAsync();
        var disk = (await session.ResourceGroup.GetManagedDisks().CreateOrUpdateAsync(WaitUntil.Completed, "vol-a", ArmModels.EmptyDisk(session))).Value;
        var data = ArmModels.Vm(session, "vm1");
        data.StorageProfile.DataDisks.Add(ArmModels.Attach(0, disk.Id));
        var vm = (await session.ResourceGroup.GetVirtualMachines().CreateOrUpdateAsync(WaitUntil.Completed, "vm1", data)).Value;
        Assert.NotNull(session.Server.State.FindNetworkInterface("vm1-nic"));
        Assert.True(Directory.Exists(session.Server.State.FindDisk("vm1-os")!.Folder));
        var osFolder = session.Server.State.FindDisk("vm1-os")!.Folder;

        await vm.DeleteAsync(WaitUntil.Completed);

        Assert.False((await session.ResourceGroup.GetVirtualMachines().ExistsAsync("vm1")).Value);
        Assert.Null(session.Server.State.FindNetworkInterface("vm1-nic"));
        Assert.False((await session.ResourceGroup.GetManagedDisks().ExistsAsync("vm1-os")).Value);
        Assert.False(Directory.Exists(osFolder));
        var kept = (await disk.GetAsync()).Value.Data;
        Assert.Equal(DiskState.Unattached, kept.DiskState);
        Assert.Null(kept.ManagedBy);
    }

    [Fact]
    public async Task A_second_write_while_an_update_is_in_flight_is_refused_with_409()
    {
        await using var session = await EmulatorSession.StartAsync();
        var vm = (await session.ResourceGroup.GetVirtualMachines().CreateOrUpdateAsync(WaitUntil.Completed, "vm1", ArmModels.Vm(session, "vm1"))).Value;
        session.Server.Latencies.Set(EmulatorLatency.VmUpdate, TimeSpan.FromMilliseconds(700));

        var first = new VirtualMachinePatch();
        first.Tags["shellbox:status"] = "connected";
        var operation = await vm.UpdateAsync(WaitUntil.Started, first);
        var second = new VirtualMachinePatch();
        second.Tags["shellbox:status"] = "free";
        var refused = await Assert.ThrowsAsync<RequestFailedException>(() => vm.UpdateAsync(WaitUntil.Started, second));
        var refusedDelete = await Assert.ThrowsAsync<RequestFailedException>(() => vm.DeleteAsync(WaitUntil.Started));
        Assert.Equal("Updating", (await vm.GetAsync()).Value.Data.ProvisioningState);
        await operation.WaitForCompletionAsync(TimeSpan.FromMilliseconds(100), CancellationToken.None);

        Assert.Equal(409, refused.Status);
        Assert.Equal("AnotherOperationInProgress", refused.ErrorCode);
        Assert.Equal(409, refusedDelete.Status);
        var after = (await vm.GetAsync()).Value.Data;
        Assert.Equal("connected", after.Tags["shellbox:status"]);
        Assert.Equal("Succeeded", after.ProvisioningState);
    }

    [Fact]
    public async Task A_create_past_the_vm_quota_is_refused_until_a_vm_is_deleted()
    {
        await using var session = await EmulatorSession.StartAsync(data => new ArmEmulatorOptions { DataDirectory = data, MaxVirtualMachines = 1 });
        var vms = session.ResourceGroup.GetVirtualMachines();
        var first = (await vms.CreateOrUpdateAsync(WaitUntil.Completed, "vm1", ArmModels.Vm(session, "vm1"))).Value;

        var refused = await Assert.ThrowsAsync<RequestFailedException>(() => vms.CreateOrUpdateAsync(WaitUntil.Completed, "vm2", ArmModels.Vm(session, "vm2")));
        await first.DeleteAsync(WaitUntil.Completed);
        await vms.CreateOrUpdateAsync(WaitUntil.Completed, "vm2", ArmModels.Vm(session, "vm2"));

        Assert.Equal((409, "OperationNotAllowed"), (refused.Status, refused.ErrorCode));
        Assert.Contains("quota", refused.Message);
        Assert.Equal(["vm2"], session.Server.State.VirtualMachines.Select(v => v.Name));
    }

    [Fact]
    public async Task The_instance_view_says_the_vm_runs()
    {
        await using var session = await EmulatorSession.StartAsync();
        var vm = (await session.ResourceGroup.GetVirtualMachines().CreateOrUpdateAsync(WaitUntil.Completed, "vm1", ArmModels.Vm(session, "vm1"))).Value;

        var view = (await vm.InstanceViewAsync()).Value;
        var expanded = (await vm.GetAsync(InstanceViewType.InstanceView)).Value.Data.InstanceView;

        Assert.Contains(view.Statuses, s => s.Code == "PowerState/running");
        Assert.Contains(expanded.Statuses, s => s.Code == "ProvisioningState/succeeded");
    }

    [Fact]
    public async Task A_body_property_of_the_wrong_type_is_a_400_not_a_crash()
    {
        await using var session = await EmulatorSession.StartAsync();
        var disk = (await session.ResourceGroup.GetManagedDisks().CreateOrUpdateAsync(WaitUntil.Completed, "vol-a", ArmModels.EmptyDisk(session))).Value;

        var (status, body, _) = await session.SendAsync(Azure.Core.RequestMethod.Patch, $"{disk.Id}?api-version=2023-04-02",
            new System.Text.Json.Nodes.JsonObject { ["properties"] = new System.Text.Json.Nodes.JsonObject { ["diskSizeGB"] = "big" } });

        Assert.Equal(400, status);
        Assert.Equal("InvalidRequestContent", body!["error"]!["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_throttled_get_is_retried_by_the_sdk_after_retry_after()
    {
        await using var session = await EmulatorSession.StartAsync();
        await session.ResourceGroup.GetVirtualMachines().CreateOrUpdateAsync(WaitUntil.Completed, "vm1", ArmModels.Vm(session, "vm1"));
        var rule = session.Server.Faults.Throttle("GET", "/virtualMachines/vm1$", times: 1, retryAfter: TimeSpan.FromSeconds(1));
        var mark = session.Server.Requests.Mark();

        var started = System.Diagnostics.Stopwatch.StartNew();
        var vm = (await session.ResourceGroup.GetVirtualMachineAsync("vm1")).Value;
        started.Stop();

        Assert.Equal("vm1", vm.Data.Name);
        Assert.Equal(1, rule.Fired);
        var gets = session.Server.Requests.Since(mark).Where(r => r.Path.EndsWith("/vm1", StringComparison.Ordinal)).Select(r => r.Status).ToArray();
        Assert.Equal([429, 200], gets);
        Assert.True(started.Elapsed >= TimeSpan.FromSeconds(0.95), $"the SDK retried after {started.Elapsed}, before Retry-After");
    }
}
