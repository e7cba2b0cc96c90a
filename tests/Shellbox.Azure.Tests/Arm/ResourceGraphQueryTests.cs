using Shellbox.Core.Model;

namespace Shellbox.Azure.Tests.Arm;

/// <summary>The seed's Resource Graph queries over what the provider made, with the index's lag waited out.</summary>
public sealed class ResourceGraphQueryTests : IAsyncLifetime
{
    private static readonly TimeSpan Lag = TimeSpan.FromSeconds(3);
    private AzureOnEmulator azure = null!;

    public async Task InitializeAsync() => azure = await AzureOnEmulator.StartAsync(resourceGraphLag: Lag);

    public async Task DisposeAsync() => await azure.DisposeAsync();

    private static Dictionary<string, string> Tags(string status, DateTimeOffset lastUsed) => new()
    {
        [TagKeys.Status] = status,
        [TagKeys.LastUsed] = lastUsed.ToString("O"),
    };

    [Fact]
    public async Task Counts_by_status_and_the_oldest_free_instances_follow_the_tags_once_the_index_caught_up()
    {
        var infrastructure = azure.Infrastructure();
        var t0 = DateTimeOffset.Parse("2026-11-01T00:00:00Z");
        await infrastructure.CreateInstanceAsync("instance-new", Tags(ResourceStatuses.Free, t0.AddHours(3)));
        await infrastructure.CreateInstanceAsync("instance-old", Tags(ResourceStatuses.Free, t0.AddHours(1)));
        await infrastructure.CreateInstanceAsync("instance-mid", Tags(ResourceStatuses.Free, t0.AddHours(2)));
        await infrastructure.CreateInstanceAsync("instance-busy", Tags(ResourceStatuses.Connected, t0));

        // Right after the writes the index does not show them all yet (seed 003: no connect may wait for it).
        Assert.True((await infrastructure.Queries.CountByStatusAsync(ResourceRoles.Instance)).Values.Sum() < 4);

        var counts = await EventuallyAsync(() => infrastructure.Queries.CountByStatusAsync(ResourceRoles.Instance), c => c.Values.Sum() == 4);
        Assert.Equal(3, counts[ResourceStatuses.Free]);
        Assert.Equal(1, counts[ResourceStatuses.Connected]);

        var oldest = await infrastructure.Queries.OldestFreeAsync(ResourceRoles.Instance);
        Assert.Equal(["instance-old", "instance-mid", "instance-new"], oldest.Select(o => o.Name));
        Assert.Equal(t0.AddHours(1), oldest[0].LastUsed);
    }

    [Fact]
    public async Task Listing_a_role_reads_every_page_and_nothing_of_the_other_role()
    {
        var infrastructure = azure.Infrastructure(options: azure.Options with { ResourceGraphPageSize = 2 });
        var golden = await infrastructure.EnsureGoldenSnapshotAsync();
        for (var i = 0; i < 5; i++)
        {
            await infrastructure.CreateVolumeAsync($"volume-{i}", golden, new Dictionary<string, string>());
        }

        await infrastructure.CreateInstanceAsync("instance-a", new Dictionary<string, string>());

        var mark = azure.Emulator.Requests.Mark();
        var volumes = await EventuallyAsync(() => infrastructure.ListAsync(ResourceRoles.Volume), v => v.Count == 5);
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"volume-{i}"), volumes.Select(v => v.Id).Order());
        Assert.All(volumes, v => Assert.Equal(golden.Version, v.Tags[TagKeys.Golden]));
        Assert.True(azure.Emulator.Requests.Since(mark).Count(r => r.Path.Contains("Microsoft.ResourceGraph", StringComparison.OrdinalIgnoreCase)) >= 3, "five rows at two a page take three pages");
        var instance = Assert.Single(await infrastructure.ListAsync(ResourceRoles.Instance));
        Assert.Equal("instance-a", instance.Id);
    }

    private static async Task<T> EventuallyAsync<T>(Func<Task<T>> read, Func<T, bool> done)
    {
        var deadline = DateTimeOffset.UtcNow + Lag + TimeSpan.FromSeconds(10);
        while (true)
        {
            var value = await read();
            if (done(value) || DateTimeOffset.UtcNow > deadline)
            {
                return value;
            }

            await Task.Delay(200);
        }
    }
}
