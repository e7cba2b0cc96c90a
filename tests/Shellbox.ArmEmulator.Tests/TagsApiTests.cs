using Azure;
using Azure.ResourceManager.Compute;
using Azure.ResourceManager.Resources.Models;

namespace Shellbox.ArmEmulator.Tests;

public sealed class TagsApiTests
{
    [Fact]
    public async Task Tag_resource_update_merges_replaces_and_deletes_with_one_patch_each()
    {
        await using var session = await EmulatorSession.StartAsync();
        var vm = (await session.ResourceGroup.GetVirtualMachines().CreateOrUpdateAsync(WaitUntil.Completed, "vm1",
            ArmModels.Vm(session, "vm1", new Dictionary<string, string> { ["shellbox:role"] = "instance", ["shellbox:status"] = "free" }))).Value;
        var tags = vm.GetTagResource();
        var mark = session.Server.Requests.Mark();

        var merge = new TagResourcePatch { PatchMode = TagPatchMode.Merge };
        merge.TagValues["shellbox:status"] = "connected";
        merge.TagValues["shellbox:userid"] = "u1";
        await tags.UpdateAsync(WaitUntil.Completed, merge);

        var calls = session.Server.Requests.Since(mark);
        var call = Assert.Single(calls);
        Assert.Equal("PATCH", call.Method);
        Assert.EndsWith("/virtualMachines/vm1/providers/Microsoft.Resources/tags/default", call.Path);
        Assert.Equal(new Dictionary<string, string> { ["shellbox:role"] = "instance", ["shellbox:status"] = "connected", ["shellbox:userid"] = "u1" },
            (await vm.GetAsync()).Value.Data.Tags);

        var delete = new TagResourcePatch { PatchMode = TagPatchMode.Delete };
        delete.TagValues["shellbox:userid"] = "u1";
        await tags.UpdateAsync(WaitUntil.Completed, delete);
        Assert.False(session.Server.State.FindVirtualMachine("vm1")!.Tags.ContainsKey("shellbox:userid"));

        var replace = new TagResourcePatch { PatchMode = TagPatchMode.Replace };
        replace.TagValues["shellbox:role"] = "instance";
        var replaced = (await tags.UpdateAsync(WaitUntil.Completed, replace)).Value;
        Assert.Equal(new Dictionary<string, string> { ["shellbox:role"] = "instance" }, replaced.Data.TagValues);
        Assert.Equal(new Dictionary<string, string> { ["shellbox:role"] = "instance" }, (await tags.GetAsync()).Value.Data.TagValues);
    }

    [Fact]
    public async Task Add_tag_reads_the_resources_provider_then_uses_the_tags_api()
    {
        await using var session = await EmulatorSession.StartAsync();
        var disk = (await session.ResourceGroup.GetManagedDisks().CreateOrUpdateAsync(WaitUntil.Completed, "vol-a",
            ArmModels.EmptyDisk(session, tags: new Dictionary<string, string> { ["shellbox:role"] = "volume" }))).Value;
        var mark = session.Server.Requests.Mark();

        var tagged = (await disk.AddTagAsync("shellbox:status", "free")).Value;

        Assert.Equal("free", tagged.Data.Tags["shellbox:status"]);
        Assert.Equal("volume", tagged.Data.Tags["shellbox:role"]);
        // What Azure.ResourceManager 1.7 sends for AddTag: the default subscription and the Microsoft.Resources provider
        // (once per ArmClient: "can the Tags API be used?"), GET + PUT of the whole tag set, GET of the disk. Five round
        // trips, where TagResource.UpdateAsync with Merge is one PATCH.
        var calls = session.Server.Requests.Since(mark)
            .Select(r => $"{r.Method} {r.Path.Replace(session.Server.ResourceGroupId, "{rg}").Replace(session.Server.SubscriptionId, "{sub}")}").ToArray();
        Assert.Equal(
        [
            "GET /subscriptions/{sub}",
            "GET /subscriptions/{sub}/providers/Microsoft.Resources",
            "GET {rg}/providers/Microsoft.Compute/disks/vol-a/providers/Microsoft.Resources/tags/default",
            "PUT {rg}/providers/Microsoft.Compute/disks/vol-a/providers/Microsoft.Resources/tags/default",
            "GET {rg}/providers/Microsoft.Compute/disks/vol-a",
        ], calls);
    }
}
