using Microsoft.Extensions.Time.Testing;
using Shellbox.Core.Errors;
using Shellbox.Core.Model;

namespace Shellbox.Azure.Tests.Arm;

/// <summary>ARM under load: 429 and 5xx are retried by the SDK pipeline, a 409 for an operation in flight by our own retry.</summary>
public sealed class RetryTests : IAsyncLifetime
{
    private AzureOnEmulator azure = null!;

    public async Task InitializeAsync() => azure = await AzureOnEmulator.StartAsync();

    public async Task DisposeAsync() => await azure.DisposeAsync();

    [Fact]
    public async Task A_throttled_VM_create_waits_out_Retry_After_and_succeeds()
    {
        var rule = azure.Emulator.Faults.Throttle("PUT", "/virtualMachines/instance-a$", times: 2, retryAfter: TimeSpan.FromSeconds(1));
        var started = DateTimeOffset.UtcNow;

        var info = await azure.Infrastructure().CreateInstanceAsync("instance-a", new Dictionary<string, string>());

        Assert.Equal(2, rule.Fired);
        Assert.True(DateTimeOffset.UtcNow - started >= TimeSpan.FromSeconds(1.9), "the pipeline did not honour Retry-After");
        Assert.Equal("instance-a", info.InstanceId);
        Assert.NotNull(azure.Emulator.State.FindVirtualMachine("instance-a"));
    }

    [Fact]
    public async Task A_throttled_Resource_Graph_query_is_retried()
    {
        var rule = azure.Emulator.Faults.Throttle("POST", "/providers/Microsoft.ResourceGraph/resources$", times: 1, retryAfter: TimeSpan.FromSeconds(1));

        Assert.Empty(await azure.Infrastructure().ListAsync(ResourceRoles.Volume));

        Assert.Equal(1, rule.Fired);
    }

    [Fact]
    public async Task Server_errors_on_reads_and_writes_are_retried()
    {
        var infrastructure = azure.Infrastructure();
        var golden = await infrastructure.EnsureGoldenSnapshotAsync();
        var put = azure.Emulator.Faults.Add("PUT", "/disks/volume-1$", 503, times: 2);
        var get = azure.Emulator.Faults.Add("GET", "/disks/volume-1$", 500, times: 1);

        await infrastructure.CreateVolumeAsync("volume-1", golden, new Dictionary<string, string>());

        Assert.Equal(2, put.Fired);
        Assert.Equal(1, get.Fired);
        Assert.NotNull(azure.Emulator.State.FindDisk("volume-1"));
    }

    [Fact]
    public async Task An_attach_refused_while_another_VM_operation_runs_is_retried_until_it_goes_through()
    {
        var infrastructure = azure.Infrastructure();
        var golden = await infrastructure.EnsureGoldenSnapshotAsync();
        await infrastructure.CreateInstanceAsync("instance-a", new Dictionary<string, string>());
        await infrastructure.CreateVolumeAsync("volume-1", golden, new Dictionary<string, string>());
        var conflict = azure.Emulator.Faults.Add("PATCH", "/virtualMachines/instance-a$", 409, times: 3, code: "AnotherOperationInProgress");

        await infrastructure.AttachAsync("instance-a", "volume-1", new Dictionary<string, string> { [TagKeys.Status] = ResourceStatuses.Connected });

        Assert.Equal(3, conflict.Fired);
        Assert.Equal("volume-1", azure.Emulator.State.FindVirtualMachine("instance-a")!.DataDiskNamesByLun[0]);
    }

    [Fact]
    public async Task The_back_off_after_a_conflict_runs_on_the_injected_clock()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var infrastructure = azure.Infrastructure(options: azure.Options with { ConflictRetryDelay = TimeSpan.FromSeconds(30) }, time: clock);
        await infrastructure.CreateInstanceAsync("instance-a", new Dictionary<string, string>());
        await infrastructure.CreateVolumeAsync("volume-1", await infrastructure.EnsureGoldenSnapshotAsync(), new Dictionary<string, string>());
        var conflict = azure.Emulator.Faults.Add("PATCH", "/virtualMachines/instance-a$", 409, times: 1, code: "AnotherOperationInProgress");

        var attach = infrastructure.AttachAsync("instance-a", "volume-1", new Dictionary<string, string>());

        // GIVEN the first PATCH was refused, WHEN no time passes on the injected clock, THEN the retry waits
        await WaitUntilAsync(() => conflict.Fired == 1 || attach.IsCompleted);
        await Task.Delay(300);
        Assert.False(attach.IsCompleted, "the retry did not wait for the back-off");

        // WHEN the clock moves past the back-off, THEN the retry goes through
        for (var step = 0; step < 100 && !attach.IsCompleted; step++)
        {
            clock.Advance(TimeSpan.FromSeconds(30));
            await Task.WhenAny(attach, Task.Delay(50));
        }

        Assert.True(attach.IsCompleted, "the retry did not follow the injected clock");
        await attach;
        Assert.Equal("volume-1", azure.Emulator.State.FindVirtualMachine("instance-a")!.DataDiskNamesByLun[0]);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(25);
        }
    }

    [Fact]
    public async Task A_final_conflict_is_not_retried_and_reads_as_one_sentence()
    {
        var infrastructure = azure.Infrastructure();
        await infrastructure.CreateInstanceAsync("instance-a", new Dictionary<string, string>());
        var refusal = azure.Emulator.Faults.Add("DELETE", "/virtualMachines/instance-a$", 409, times: 5, code: "OperationNotAllowed");

        var error = await Assert.ThrowsAsync<ShellboxException>(() => infrastructure.DeleteInstanceAsync("instance-a"));

        Assert.Equal(1, refusal.Fired);
        Assert.Equal(ShellboxErrorKind.Conflict, error.Kind);
        Assert.StartsWith("Azure refused to delete VM 'instance-a' (OperationNotAllowed)", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }
}
