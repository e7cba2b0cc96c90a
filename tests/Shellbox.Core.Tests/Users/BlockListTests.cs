using Shellbox.Core.Tests.Flows;
using Shellbox.Core.Users;
using static Shellbox.Core.Tests.Flows.FlowFixture;

namespace Shellbox.Core.Tests.Users;

/// <summary>The operator's block list: what Block-/Unblock-/Get-ShellboxUser and the ssh wrapper read.</summary>
public sealed class BlockListTests
{
    [Fact]
    public async Task GivenABlockedUser_ThenItIsListedAndEveryChangeIsAnEvent_AndUnblockingForgetsIt()
    {
        await using var f = Create();
        var blocks = new BlockList(f.Engine);

        await blocks.BlockAsync("mallory", "mining");
        f.Time.Advance(TimeSpan.FromMinutes(1));
        await blocks.BlockAsync("eve", null);
        await blocks.BlockAsync("mallory", null); // again: keeps the first time and reason

        Assert.Equal(["mallory", "eve"], (await blocks.ListBlockedAsync()).Select(u => u.Id));
        var mallory = await blocks.GetAsync("mallory");
        Assert.Equal((Start, "mining"), (mallory!.BlockedAt, mallory.BlockReason));
        Assert.Null(await blocks.GetAsync(User));

        Assert.True(await blocks.UnblockAsync("mallory"));
        Assert.False(await blocks.UnblockAsync("mallory"));
        Assert.Null(await blocks.GetAsync("mallory"));
        Assert.Equal(["eve"], (await blocks.ListBlockedAsync()).Select(u => u.Id));
        var events = (await f.Store.ReadEventsAsync(10)).Select(e => $"{e.Kind} {e.ResourceId}").Reverse();
        Assert.Equal(["block mallory", "block eve", "block mallory", "unblock mallory"], events);
    }

    [Fact]
    public async Task GivenAnOperatorWithAPublicKey_ThenTheUserIdIsTheOneTheWrapperDerives()
    {
        // The key blob's SHA-256, first 32 hex digits: what the ssh wrapper prints for `whoami` with this key.
        const string key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJs9vjmRKKaM+JUcpcwcSSSGpexNR+hnVxmYb1wsaZsZ alice@laptop";
        var blob = Convert.FromBase64String(key.Split(' ')[1]);
        var expected = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(blob))[..32].ToLowerInvariant();

        Assert.Equal(expected, UserKeys.UserIdOf(key));
        Assert.Equal(expected, UserKeys.UserIdOf("restrict,pty " + key));
        Assert.Equal(expected, UserKeys.UserIdOf(key.Split(' ')[1]));
        foreach (var bad in new[] { "", "ssh-ed25519", "not a key at all", "ssh-ed25519 AAAA!!!!" })
        {
            Assert.Equal("PublicKeyInvalid", Assert.Throws<Errors.ShellboxException>(() => UserKeys.UserIdOf(bad)).ErrorId);
        }
    }
}
