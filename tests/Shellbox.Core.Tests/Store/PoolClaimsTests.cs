using Shellbox.Core.Errors;
using Shellbox.Core.Model;
using Shellbox.Core.Ports;
using Shellbox.Core.Store;
using Shellbox.Core.Tests.Flows;

namespace Shellbox.Core.Tests.Store;

/// <summary>How a claim behaves when a rival writes between its candidate read and its commit (real SQLite store).</summary>
public sealed class PoolClaimsTests
{
    private static readonly DateTimeOffset T0 = FlowFixture.Start;

    [Fact]
    public async Task A_claim_that_loses_its_candidate_to_a_rival_takes_the_next_one()
    {
        await using var f = FlowFixture.Create();
        var first = await f.AddInstanceAsync();
        await f.AddInstanceAsync();
        var rivalDone = new Flow.Once();
        f.Store.BeforeCommit = async writes =>
        {
            if (writes.Any(w => w.Record.Id == first) && rivalDone.Take())
            {
                var current = await f.InstanceAsync(first);
                await f.Sqlite.CommitAsync([StoreWrite.Replace(current with { Status = ResourceStatuses.Connected, Lease = new Lease("rival", T0.AddMinutes(5), "r") })]);
            }
        };

        var won = await ClaimBareInstanceAsync(f.Store, "me");

        Assert.NotNull(won);
        Assert.NotEqual(first, won.Id);
        Assert.Equal("rival", (await f.InstanceAsync(first)).Lease!.Holder);
        Assert.Equal("me", (await f.InstanceAsync(won.Id)).Lease!.Holder);
    }

    [Fact]
    public async Task A_claim_with_every_candidate_lost_ends_with_nothing_taken()
    {
        await using var f = FlowFixture.Create();
        await f.AddInstanceAsync();
        await f.AddInstanceAsync();
        f.Store.BeforeCommit = async writes =>
        {
            // A rival takes whatever this claim is about to take, every time.
            var target = await f.InstanceAsync(writes[0].Record.Id);
            await f.Sqlite.CommitAsync([StoreWrite.Replace(target with { Status = ResourceStatuses.Connected, Lease = new Lease("rival", T0.AddMinutes(5), "r") })]);
        };

        Assert.Null(await ClaimBareInstanceAsync(f.Store, "me"));
        Assert.Empty(await f.Sqlite.FindCandidatesAsync<InstanceRecord>(Candidates.BareFreeInstances));
    }

    [Fact]
    public async Task A_conflict_on_a_row_that_is_not_the_candidate_is_thrown_and_no_candidate_is_taken()
    {
        await using var f = FlowFixture.Create();
        await f.AddInstanceAsync();
        await f.AddInstanceAsync();
        var box = new BoxRecord { Id = "alice.dev33", UserId = "alice", BoxName = "dev33", VolumeId = "v", Created = T0 };
        await f.Sqlite.InsertAsync(box); // a rival created the box this claim wants to insert

        var e = await Assert.ThrowsAsync<StoreConflictException>(() => PoolClaims.ClaimFirstAsync(
            f.Store,
            ct => PoolCandidates.BareInstancesAsync(f.Store, ct),
            i =>
            {
                var taken = i with { Status = ResourceStatuses.Connected };
                return new ClaimAttempt<InstanceRecord>([i], [StoreWrite.Replace(taken), StoreWrite.Insert(box)], rows => rows.Of(taken));
            }));

        Assert.Equal(box.Key, e.Key);
        Assert.Equal(2, (await f.Sqlite.FindCandidatesAsync<InstanceRecord>(Candidates.BareFreeInstances)).Count);
    }

    private static Task<InstanceRecord?> ClaimBareInstanceAsync(IPoolStore store, string holder) =>
        PoolClaims.ClaimFirstAsync(
            store,
            ct => PoolCandidates.BareInstancesAsync(store, ct),
            i =>
            {
                var taken = i with { Status = ResourceStatuses.Connected, Lease = new Lease(holder, T0.AddMinutes(5), holder) };
                return new ClaimAttempt<InstanceRecord>([i], [StoreWrite.Replace(taken)], rows => rows.Of(taken));
            });
}
