using Shellbox.Core.Boxes;
using Shellbox.Core.Engine;
using Shellbox.Core.Errors;
using Shellbox.Core.Settings;
using Shellbox.Core.Tests.Flows;
using static Shellbox.Core.Tests.Flows.FlowFixture;

namespace Shellbox.Core.Tests.Users;

/// <summary>shellbox.json's quotas as a user meets them: one line, nothing created or resumed, an event for the operator.</summary>
public sealed class UserQuotaTests
{
    private static ShellboxEngine WithQuotas(FlowFixture f, int? boxes = null, int? running = null) =>
        new(f.Settings with { Quotas = new UserQuotas(boxes, running) }, f.Store, f.Infra, f.Runtime, f.Time, f.Ids);

    [Fact]
    public async Task GivenThreeOfThreeBoxes_WhenANewBoxIsConnected_ThenOneLineNamesTheQuotaAndNothingIsClaimed()
    {
        await using var f = Create();
        var engine = WithQuotas(f, boxes: 3);
        for (var i = 0; i < 4; i++)
        {
            await f.AddVolumeAsync();
        }

        foreach (var name in new[] { "a", "b", "c" })
        {
            await new BoxCatalog(engine).CreateAsync(User, name);
        }

        await f.AddReadyPairAsync();
        var before = await f.RowsAsync();
        f.ClearCalls();

        var e = await Flow.FailsWithAsync("BoxQuotaExceeded", () => new ConnectFlow(engine).ConnectAsync(User, "d"));

        Assert.Equal(ShellboxErrorKind.User, e.Kind);
        Assert.Equal("quota: you have 3 of 3 boxes; remove one with: ssh HOST remove NAME", e.Message);
        Assert.Equal(before, await f.RowsAsync());
        Assert.Empty(f.Infra.Log.Calls);
        Assert.Empty(f.Runtime.Log.Calls);
        var refused = Assert.Single(await f.Store.ReadEventsAsync(10), x => x.Kind == "quota");
        Assert.Equal((User, false), (refused.ResourceId, refused.Succeeded));
    }

    [Fact]
    public async Task GivenTheBoxQuota_WhenSpinupWouldPassIt_ThenItIsRefusedAndAnotherUserIsNotCounted()
    {
        await using var f = Create();
        var engine = WithQuotas(f, boxes: 1);
        await f.AddVolumeAsync();
        await f.AddVolumeAsync();
        await new BoxCatalog(engine).CreateAsync(User, "a");

        await Flow.FailsWithAsync("BoxQuotaExceeded", () => new BoxCatalog(engine).CreateAsync(User, "b"));
        var other = await new BoxCatalog(engine).CreateAsync("bob", "a");

        Assert.Equal("bob", other.Box.UserId);
        Assert.Equal(["a"], (await f.Catalog.ListAsync(User)).Select(b => b.Box.BoxName));
    }

    [Fact]
    public async Task GivenOneOfOneBoxesRunning_WhenASuspendedBoxIsConnected_ThenItIsRefusedButTheRunningOneCanBeJoined()
    {
        await using var f = Create();
        var engine = WithQuotas(f, running: 1);
        await f.AddInstanceAsync();
        await f.AddInstanceAsync();
        await f.AddVolumeAsync();
        await f.AddVolumeAsync();
        await new BoxCatalog(engine).CreateAsync(User, "a");
        await new BoxCatalog(engine).CreateAsync(User, "b");
        var first = await new ConnectFlow(engine).ConnectAsync(User, "a", create: false);
        var before = await f.RowsAsync();

        var e = await Flow.FailsWithAsync("RunningQuotaExceeded", () => new ConnectFlow(engine).ConnectAsync(User, "b", create: false));
        Assert.StartsWith("quota: you have 1 of 1 boxes running", e.Message);
        Assert.Equal(before, await f.RowsAsync());
        Assert.Equal(BoxCatalog.Suspended, (await f.Catalog.GetAsync(User, "b")).State);

        var joined = await new ConnectFlow(engine).ConnectAsync(User, "a", create: false);
        Assert.Equal("joining", joined.Trace.Path);

        // Once the running box is left (the last session out suspends it), the other one may run.
        await new DisconnectFlow(engine).DisconnectAsync(first.Box.Id, first.SessionId);
        await new DisconnectFlow(engine).DisconnectAsync(joined.Box.Id, joined.SessionId);
        var second = await new ConnectFlow(engine).ConnectAsync(User, "b", create: false);
        Assert.Equal("returning", second.Trace.Path);
    }

    [Fact]
    public async Task GivenNoQuotas_WhenBoxesAreMade_ThenNothingIsCountedOrRefused()
    {
        await using var f = Create();
        for (var i = 0; i < 5; i++)
        {
            await f.AddVolumeAsync();
            await f.Catalog.CreateAsync(User, $"b{i}");
        }

        Assert.Equal(5, (await f.Catalog.ListAsync(User)).Count);
        Assert.DoesNotContain(await f.Store.ReadEventsAsync(50), x => x.Kind == "quota");
    }
}
