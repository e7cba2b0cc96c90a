using System.Text.Json.Nodes;
using Azure;
using Azure.ResourceManager.Compute;

namespace Shellbox.ArmEmulator.Tests;

/// <summary>The seed's queries (000, "Key Queries") against the emulator's Resource Graph.</summary>
public sealed class ResourceGraphTests
{
    private const string CountInstancesByStatus =
        "Resources | where type =~ 'microsoft.compute/virtualmachines' | where tags['shellbox:role'] =~ 'instance' | summarize count() by tostring(tags['shellbox:status'])";

    private const string OldestFreeInstances =
        "Resources | where type =~ 'microsoft.compute/virtualmachines' | where tags['shellbox:role'] =~ 'instance' | where tags['shellbox:status'] =~ 'free' | project name, id, lastused=todatetime(tags['shellbox:lastused']) | order by lastused asc | take 10";

    private const string Volumes =
        "Resources | where type =~ 'microsoft.compute/disks' | where tags['shellbox:role'] =~ 'volume' | project name, id, type, tags";

    [Fact]
    public async Task Counting_instances_by_status_groups_on_the_status_tag()
    {
        await using var session = await EmulatorSession.StartAsync();
        await CreateVmAsync(session, "vm-a", "instance", "free");
        await CreateVmAsync(session, "vm-b", "instance", "connected");
        await CreateVmAsync(session, "vm-c", "instance", "FREE");
        await CreateVmAsync(session, "vm-d", "bastion", "free");

        var (status, body, _) = await session.QueryGraphAsync(CountInstancesByStatus);

        Assert.Equal(200, status);
        var counts = body!["data"]!.AsArray().ToDictionary(r => r!["tags_shellbox_status"]!.GetValue<string>(), r => r!["count_"]!.GetValue<int>());
        Assert.Equal(new Dictionary<string, int> { ["free"] = 1, ["connected"] = 1, ["FREE"] = 1 }, counts);
        Assert.Equal(3, body["totalRecords"]!.GetValue<int>());
    }

    [Fact]
    public async Task Oldest_free_instances_come_first_with_lastused_as_a_datetime()
    {
        await using var session = await EmulatorSession.StartAsync();
        await CreateVmAsync(session, "vm-new", "instance", "free", "2026-11-30T10:00:00Z");
        await CreateVmAsync(session, "vm-old", "instance", "free", "2026-11-29T08:00:00Z");
        await CreateVmAsync(session, "vm-busy", "instance", "connected", "2026-11-01T00:00:00Z");
        await CreateVmAsync(session, "vm-mid", "instance", "free", "2026-11-30T09:30:00+00:00");

        var (status, body, _) = await session.QueryGraphAsync(OldestFreeInstances);

        Assert.Equal(200, status);
        var rows = body!["data"]!.AsArray().Select(r => r!.AsObject()).ToList();
        Assert.Equal(["vm-old", "vm-mid", "vm-new"], rows.Select(r => r["name"]!.GetValue<string>()));
        Assert.Equal(["name", "id", "lastused"], rows[0].Select(p => p.Key));
        Assert.Equal("2026-11-29T08:00:00Z", rows[0]["lastused"]!.GetValue<string>());
        Assert.EndsWith("/providers/Microsoft.Compute/virtualMachines/vm-old", rows[0]["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task Volumes_are_projected_with_lower_case_type_and_tags()
    {
        await using var session = await EmulatorSession.StartAsync();
        var disks = session.ResourceGroup.GetManagedDisks();
        await disks.CreateOrUpdateAsync(WaitUntil.Completed, "vol-1", ArmModels.EmptyDisk(session, tags: new Dictionary<string, string> { ["shellbox:role"] = "volume", ["shellbox:status"] = "free" }));
        await disks.CreateOrUpdateAsync(WaitUntil.Completed, "other", ArmModels.EmptyDisk(session));

        var (_, body, _) = await session.QueryGraphAsync(Volumes);

        var row = Assert.Single(body!["data"]!.AsArray())!.AsObject();
        Assert.Equal("vol-1", row["name"]!.GetValue<string>());
        Assert.Equal("microsoft.compute/disks", row["type"]!.GetValue<string>());
        Assert.Equal("free", row["tags"]!["shellbox:status"]!.GetValue<string>());
        Assert.Equal(["name", "id", "type", "tags"], row.Select(p => p.Key));
    }

    [Fact]
    public async Task Results_page_with_top_and_skip_token()
    {
        await using var session = await EmulatorSession.StartAsync();
        for (var i = 0; i < 5; i++)
            await session.ResourceGroup.GetManagedDisks().CreateOrUpdateAsync(WaitUntil.Completed, $"vol-{i}",
                ArmModels.EmptyDisk(session, tags: new Dictionary<string, string> { ["shellbox:role"] = "volume" }));

        var names = new List<string>();
        string? token = null;
        var pages = 0;
        do
        {
            var (status, body, _) = await session.QueryGraphAsync(Volumes, top: 2, skipToken: token);
            Assert.Equal(200, status);
            Assert.Equal(5, body!["totalRecords"]!.GetValue<int>());
            names.AddRange(body["data"]!.AsArray().Select(r => r!["name"]!.GetValue<string>()));
            Assert.Equal(body["data"]!.AsArray().Count, body["count"]!.GetValue<int>());
            token = body["$skipToken"]?.GetValue<string>();
            pages++;
        }
        while (token is not null);

        Assert.Equal(3, pages);
        Assert.Equal(["vol-0", "vol-1", "vol-2", "vol-3", "vol-4"], names.Order());
    }

    [Fact]
    public async Task Results_trail_writes_by_the_configured_lag()
    {
        var lag = TimeSpan.FromMilliseconds(600);
        await using var session = await EmulatorSession.StartAsync(data => new ArmEmulatorOptions { DataDirectory = data, ResourceGraphLag = lag });
        var disk = (await session.ResourceGroup.GetManagedDisks().CreateOrUpdateAsync(WaitUntil.Completed, "vol-1",
            ArmModels.EmptyDisk(session, tags: new Dictionary<string, string> { ["shellbox:role"] = "volume", ["shellbox:status"] = "free" }))).Value;
        var created = DateTimeOffset.UtcNow;
        var (_, early, _) = await session.QueryGraphAsync(Volumes);
        if (DateTimeOffset.UtcNow - created < lag) Assert.Empty(early!["data"]!.AsArray());

        await Task.Delay(lag + TimeSpan.FromMilliseconds(100));
        var (_, visible, _) = await session.QueryGraphAsync(Volumes);
        Assert.Equal("free", visible!["data"]![0]!["tags"]!["shellbox:status"]!.GetValue<string>());

        var patch = new Azure.ResourceManager.Compute.Models.ManagedDiskPatch();
        patch.Tags["shellbox:role"] = "volume";
        patch.Tags["shellbox:status"] = "attached";
        await disk.UpdateAsync(WaitUntil.Completed, patch);
        var updated = DateTimeOffset.UtcNow;
        var (_, stale, _) = await session.QueryGraphAsync(Volumes);
        if (DateTimeOffset.UtcNow - updated < lag) Assert.Equal("free", stale!["data"]![0]!["tags"]!["shellbox:status"]!.GetValue<string>());
        await Task.Delay(lag + TimeSpan.FromMilliseconds(100));
        var (_, fresh, _) = await session.QueryGraphAsync(Volumes);
        Assert.Equal("attached", fresh!["data"]![0]!["tags"]!["shellbox:status"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("Resources | extend x = 1", "operator 'extend' is not supported")]
    [InlineData("Resources | where type contains 'disk'", "expected a comparison")]
    [InlineData("ResourceContainers | take 1", "table 'ResourceContainers' is not modelled")]
    [InlineData("Resources | project nmae", "failed to resolve scalar expression named 'nmae'")]
    [InlineData("Resources | summarize max(name) by type", "aggregation 'max' is not supported")]
    [InlineData("Resources | where name =~ 'unterminated", "string literal is not closed")]
    public async Task Unknown_syntax_is_a_400_that_names_the_problem(string query, string problem)
    {
        await using var session = await EmulatorSession.StartAsync();

        var (status, body, _) = await session.QueryGraphAsync(query);

        Assert.Equal(400, status);
        Assert.Equal("BadRequest", body!["error"]!["code"]!.GetValue<string>());
        Assert.Contains(problem, body["error"]!["message"]!.GetValue<string>());
    }

    private static async Task CreateVmAsync(EmulatorSession session, string name, string role, string status, string? lastUsed = null)
    {
        var tags = new Dictionary<string, string> { ["shellbox:role"] = role, ["shellbox:status"] = status };
        if (lastUsed is not null) tags["shellbox:lastused"] = lastUsed;
        await session.ResourceGroup.GetVirtualMachines().CreateOrUpdateAsync(WaitUntil.Completed, name, ArmModels.Vm(session, name, tags));
    }
}
