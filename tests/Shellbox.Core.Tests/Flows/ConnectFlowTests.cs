using Shellbox.Core.Boxes;
using Shellbox.Core.Errors;
using Shellbox.Core.Lifecycle;
using Shellbox.Core.Model;
using Shellbox.Core.Planning;
using Shellbox.Core.Store;
using static Shellbox.Core.Tests.Flows.FlowFixture;

namespace Shellbox.Core.Tests.Flows;

/// <summary>Connect, branch by branch, against the real SQLite store and recording fakes.</summary>
public sealed class ConnectFlowTests
{
    private static readonly TimeSpan Linger = TimeSpan.FromMinutes(5);

    // The pool may hold one instance: with it in use, a connect that needs another is at capacity.
    private static readonly PoolConfig OneInstance = PoolConfig.Dev with { MinFreeInstances = 1, MaxFreeInstances = 1, MaxTotalInstances = 1 };

    [Fact]
    public async Task GivenReadyPair_WhenNewBoxConnects_ThenNoInfrastructureCallNoColdResumeAndPathIsNewFromReadyPair()
    {
        await using var f = Create();
        var (instance, volume) = await f.AddReadyPairAsync();
        await f.AddInstanceAsync();
        await f.AddVolumeAsync();

        var connection = await f.Connect.ConnectAsync(User, "dev1");

        Assert.Equal("new-from-ready-pair", connection.Trace.Path);
        Assert.True(connection.Created);
        Assert.Empty(f.Infra.Log.Calls);
        Assert.Equal(0, f.Runtime.ColdResumes);
        Assert.Equal(0, f.Runtime.Log.Count(nameof(FakeBoxRuntime.SuspendAsync)));
        var box = await f.BoxAsync("dev1");
        Assert.Equal((instance, volume), (box.InstanceId, box.VolumeId));
        Assert.Equal(connection.SessionId, Assert.Single(box.Sessions).Id);
        var i = await f.InstanceAsync(instance);
        Assert.Equal(ResourceStatuses.Connected, i.Status);
        Assert.Equal(box.Id, i.Lease?.Holder);
        var v = await f.VolumeAsync(volume);
        Assert.Equal((ResourceStatuses.Attached, User, "dev1"), (v.Status, v.UserId, v.BoxName));
        await f.AssertConsistentAsync();
    }

    [Fact]
    public async Task GivenNoReadyPair_WhenNewBoxConnects_ThenLooseInstanceAndVolumeAreClaimedWithOneAttachAndOneResume()
    {
        await using var f = Create();
        var instance = await f.AddInstanceAsync();
        var volume = await f.AddVolumeAsync();

        var connection = await f.Connect.ConnectAsync(User, "dev1");

        Assert.Equal("new-with-attach", connection.Trace.Path);
        Assert.True(connection.Created);
        Assert.Equal([$"AttachAsync({instance}, {volume})"], f.Infra.Log.Calls.Select(c => c.ToString()));
        Assert.Equal([$"ResumeAsync({instance}, {volume})"], f.Runtime.Log.Calls.Select(c => c.ToString()));
        Assert.True((await f.InstanceAsync(instance)).BoxRunning);
        Assert.Equal(volume, (await f.BoxAsync("dev1")).VolumeId);
        await f.AssertConsistentAsync();
    }

    [Fact]
    public async Task GivenDisconnectedBoxWithoutLinger_WhenItReturns_ThenOneAttachOneResumeAndTheSameVolume()
    {
        await using var f = Create();
        var (_, volume) = await f.AddReadyPairAsync();
        var first = await f.Connect.ConnectAsync(User, "dev1");
        Assert.Equal("suspended", await f.Disconnect.DisconnectAsync(first.Box.Id, first.SessionId));
        Assert.Null((await f.BoxAsync("dev1")).InstanceId);
        f.ClearCalls();

        var again = await f.Connect.ConnectAsync(User, "dev1");

        Assert.Equal("returning", again.Trace.Path);
        Assert.False(again.Created);
        Assert.Equal(nameof(FakeInfrastructure.AttachAsync), Assert.Single(f.Infra.Log.Calls).Name);
        Assert.Equal(nameof(FakeBoxRuntime.ResumeAsync), Assert.Single(f.Runtime.Log.Calls).Name);
        Assert.Equal(volume, again.Box.VolumeId);
        Assert.Equal(volume, (await f.BoxAsync("dev1")).VolumeId);
        await f.AssertConsistentAsync();
    }

    [Fact]
    public async Task GivenAUsersBoxWhoseSavedStateIsCorrupt_WhenItReturns_ThenTheConnectFailsWithThatErrorAndNothingBootsOverItOrDeletesIt()
    {
        // GIVEN a suspended box whose saved state is damaged
        await using var f = Create();
        var (_, volume) = await f.AddReadyPairAsync();
        var first = await f.Connect.ConnectAsync(User, "dev1");
        await f.Disconnect.DisconnectAsync(first.Box.Id, first.SessionId);
        f.Runtime.CorruptState(volume);

        // WHEN it returns THEN the user gets the corrupt-state error and the way back in; no cold boot runs over the state
        var error = await Assert.ThrowsAsync<SavedStateCorruptException>(() => f.Connect.ConnectAsync(User, "dev1"));
        Assert.Equal("DeviceStateInvalid", error.ErrorId);
        Assert.Contains($"Connect-ShellboxBox dev1 -UserId {User} -ColdBoot", error.Message);
        Assert.Equal(0, f.Runtime.Log.Count(nameof(FakeBoxRuntime.ColdBootAsync)));

        // AND reconcile leaves its volume alone: the box keeps it, detached, for the operator to look at
        await f.Reconciler.ReconcileAsync();
        var box = await f.BoxAsync("dev1");
        Assert.Equal((volume, null), (box.VolumeId, box.InstanceId));
        Assert.True(f.Infra.HasVolume(volume));
        await f.AssertConsistentAsync();

        // AND asked to, a connect boots it from its disk (the same volume), and then it suspends and resumes as any box
        var booted = await new ConnectFlow(f.Engine) { BootFromDisk = true }.ConnectAsync(User, "dev1");
        Assert.Equal(("returning", true, volume), (booted.Trace.Path, booted.Trace.ColdBooted, booted.Box.VolumeId));
        Assert.True(booted.LostRunningPrograms, "its user is told the running programs are gone");
        Assert.Equal(1, f.Runtime.Log.Count(nameof(FakeBoxRuntime.ColdBootAsync)));
        Assert.Contains(await f.Store.ReadEventsAsync(10), e => e.Kind == "cold-boot" && e.Message.Contains("as asked", StringComparison.Ordinal));
        await f.Disconnect.DisconnectAsync(booted.Box.Id, booted.SessionId);
        var again = await f.Connect.ConnectAsync(User, "dev1");
        Assert.False(again.Trace.ColdBooted);
        await f.AssertConsistentAsync();
    }

    [Theory]
    [InlineData("corrupt")]
    [InlineData("mismatch")]
    public async Task GivenOnlyALooseCloneWhoseStateWillNotLoad_WhenANewBoxConnects_ThenItIsBootedFromTheCloneDiskNotFailedAndThenResumesAsAnyBox(string damage)
    {
        // GIVEN no ready pair: a free instance and one free clone, whose saved state will not load
        await using var f = Create();
        await f.AddInstanceAsync();
        var volume = await f.AddVolumeAsync();
        if (damage == "corrupt")
        {
            f.Runtime.CorruptState(volume);
        }
        else
        {
            f.Runtime.MismatchMachine(volume);
        }

        // WHEN a new box connects THEN it gets that clone, booted from its disk (a new box has no state to keep)
        var made = await f.Connect.ConnectAsync(User, "dev1");
        Assert.Equal(("new-with-attach", true, volume), (made.Trace.Path, made.Trace.ColdBooted, made.Box.VolumeId));
        Assert.False(made.LostRunningPrograms, "a new box had no running programs to lose");
        Assert.Contains(await f.Store.ReadEventsAsync(10), e => e.Kind == "cold-boot" && e.Message.Contains("would not load", StringComparison.Ordinal));

        // AND it is not left bound to a clone that cannot start: suspended, it returns with a plain resume
        await f.Disconnect.DisconnectAsync(made.Box.Id, made.SessionId);
        var again = await f.Connect.ConnectAsync(User, "dev1");
        Assert.Equal(("returning", false), (again.Trace.Path, again.Trace.ColdBooted));
        await f.AssertConsistentAsync();
    }

    [Fact]
    public async Task GivenABoxThatRunsOrDoesNotExist_WhenBootedFromDisk_ThenItIsRefusedWithOneLineAndNothingChanges()
    {
        await using var f = Create();
        await f.AddReadyPairAsync();
        await f.AddInstanceAsync();
        var running = await f.Connect.ConnectAsync(User, "dev1");
        var before = await f.RowsAsync();
        f.ClearCalls();
        var fromDisk = new ConnectFlow(f.Engine) { BootFromDisk = true };

        var busy = await Assert.ThrowsAsync<ShellboxException>(() => fromDisk.ConnectAsync(User, "dev1"));
        var missing = await Assert.ThrowsAsync<ShellboxException>(() => fromDisk.ConnectAsync(User, "nosuch"));

        Assert.Equal(("BoxRunning", ShellboxErrorKind.Conflict), (busy.ErrorId, busy.Kind));
        Assert.Equal(("BoxNotFound", ShellboxErrorKind.NotFound), (missing.ErrorId, missing.Kind));
        Assert.Empty(f.Runtime.Log.Calls);
        Assert.Empty(f.Infra.Log.Calls);
        Assert.Equal(before, await f.RowsAsync());
        Assert.True(f.Runtime.IsRunning(running.Box.InstanceId!, running.Box.VolumeId));
    }

    [Fact]
    public async Task GivenOnlyReadyPairsFree_WhenAReturningBoxConnects_ThenOnePairIsBrokenUpAndTheBoxResumesOnItsInstance()
    {
        await using var f = Create();
        await f.AddReadyPairAsync();
        var first = await f.Connect.ConnectAsync(User, "dev1");
        await f.Disconnect.DisconnectAsync(first.Box.Id, first.SessionId);
        await f.AddVolumeAsync();
        await f.Connect.ConnectAsync(User, "dev2"); // takes the bare instance dev1 left
        var (pairInstance, pairVolume) = await f.AddReadyPairAsync();
        f.ClearCalls();

        var again = await f.Connect.ConnectAsync(User, "dev1");

        Assert.Equal("returning", again.Trace.Path);
        Assert.Single(again.Trace.Steps, s => s.Name == "claim"); // decided twice, reported as one step
        Assert.Equal(pairInstance, again.Box.InstanceId);
        Assert.Equal(first.Box.VolumeId, again.Box.VolumeId);
        Assert.Equal(1, f.Runtime.Log.Count(nameof(FakeBoxRuntime.SuspendAsync)));
        Assert.Equal(1, f.Infra.Log.Count(nameof(FakeInfrastructure.DetachAsync)));
        var freed = await f.VolumeAsync(pairVolume);
        Assert.True(freed.IsFree);
        Assert.Null(freed.InstanceId);
        await f.AssertConsistentAsync();
    }

    [Fact]
    public async Task GivenLingeringBox_WhenReconnectedWithinLinger_ThenNoAttachAndItResumesInPlace()
    {
        await using var f = Create(Linger);
        var (instance, volume) = await f.AddReadyPairAsync();
        var first = await f.Connect.ConnectAsync(User, "dev1");

        Assert.Equal("lingering", await f.Disconnect.DisconnectAsync(first.Box.Id, first.SessionId));
        Assert.Equal(1, f.Runtime.Log.Count(nameof(FakeBoxRuntime.SuspendAsync)));
        Assert.Equal(0, f.Infra.Log.Count(nameof(FakeInfrastructure.DetachAsync)));
        var lingering = await f.BoxAsync("dev1");
        Assert.Equal(instance, lingering.InstanceId);
        Assert.Empty(lingering.Sessions);
        Assert.Equal(Start + Linger, lingering.LingerUntil);
        Assert.Equal(volume, f.Infra.AttachedTo(instance));
        Assert.Equal(BoxCatalog.Lingering, (await f.Catalog.GetAsync(User, "dev1")).State);
        f.ClearCalls();

        f.Time.Advance(TimeSpan.FromMinutes(1));
        var again = await f.Connect.ConnectAsync(User, "dev1");

        Assert.Equal("lingering", again.Trace.Path);
        Assert.Empty(f.Infra.Log.Calls);
        Assert.Equal(1, f.Runtime.Log.Count(nameof(FakeBoxRuntime.ResumeAsync)));
        Assert.True(f.Runtime.IsRunning(instance, volume));
        var box = await f.BoxAsync("dev1");
        Assert.Null(box.LingerUntil);
        Assert.Single(box.Sessions);
        Assert.True((await f.InstanceAsync(instance)).BoxRunning);
        await f.AssertConsistentAsync();
    }

    [Fact]
    public async Task GivenLingeringBox_WhenLingerPassesAndReconcileRuns_ThenItIsDetachedAndTheInstanceIsFree()
    {
        await using var f = Create(Linger);
        var (instance, volume) = await f.AddReadyPairAsync();
        var first = await f.Connect.ConnectAsync(User, "dev1");
        await f.Disconnect.DisconnectAsync(first.Box.Id, first.SessionId);

        f.Time.Advance(Linger - TimeSpan.FromSeconds(1));
        await f.Reconciler.ReconcileAsync();
        Assert.Equal(0, f.Infra.Log.Count(nameof(FakeInfrastructure.DetachAsync)));
        Assert.Equal(instance, (await f.BoxAsync("dev1")).InstanceId);

        f.Time.Advance(TimeSpan.FromSeconds(2));
        var result = await f.Reconciler.ReconcileAsync();

        Assert.Contains(result.Outcomes, o => o.Action is ReclaimLease { Id: var id } && id == instance && o.Succeeded);
        Assert.Equal([$"DetachAsync({instance}, {volume})"], f.Infra.Log.Named(nameof(FakeInfrastructure.DetachAsync)).Select(c => c.ToString()));
        var i = await f.InstanceAsync(instance);
        Assert.True(i.IsFree);
        Assert.Null(i.VolumeId);
        var box = await f.BoxAsync("dev1");
        Assert.Null(box.InstanceId);
        Assert.Null(box.LingerUntil);
        Assert.Equal(ResourceStatuses.Suspended, (await f.VolumeAsync(volume)).Status);
        Assert.Equal(BoxCatalog.Suspended, (await f.Catalog.GetAsync(User, "dev1")).State);
        await f.AssertConsistentAsync();
    }

    [Fact]
    public async Task GivenRunningBox_WhenASecondSessionConnects_ThenItJoinsWithoutAttachOrColdResume()
    {
        await using var f = Create();
        var instance = await f.AddInstanceAsync();
        await f.AddVolumeAsync();
        var first = await f.Connect.ConnectAsync(User, "dev1");
        f.ClearCalls();

        var second = await f.Connect.ConnectAsync(User, "dev1");

        Assert.Equal("joining", second.Trace.Path);
        Assert.False(second.Created);
        Assert.Empty(f.Infra.Log.Calls);
        Assert.Equal(1, f.Runtime.Log.Count(nameof(FakeBoxRuntime.ResumeAsync)));
        Assert.Equal(0, f.Runtime.ColdResumes);
        Assert.Equal(instance, second.Box.InstanceId);
        Assert.Equal([first.SessionId, second.SessionId], (await f.BoxAsync("dev1")).Sessions.Select(s => s.Id));
        Assert.Equal(2, (await f.Catalog.GetAsync(User, "dev1")).Sessions);
        await f.AssertConsistentAsync();
    }

    [Fact]
    public async Task GivenNothingFreeAndNoRoomForAnotherInstance_WhenNewBoxConnects_ThenAtCapacityAndTheStoreIsUnchanged()
    {
        await using var f = Create(pool: OneInstance);
        await f.AddReadyPairAsync();
        await f.AddVolumeAsync(); // a volume but no instance, and the one instance allowed is in use
        await f.Connect.ConnectAsync(User, "dev1");
        f.ClearCalls();
        var before = await f.RowsAsync();

        var e = await Flow.FailsWithAsync(ConnectFlow.AtCapacityErrorId, () => f.Connect.ConnectAsync(User, "dev2"));

        Assert.Equal(Errors.ShellboxErrorKind.Service, e.Kind);
        Assert.Contains("retry in", e.Message);
        Assert.Equal(before, await f.RowsAsync());
        Assert.Empty(f.Infra.Log.Calls);
        Assert.Empty(f.Runtime.Log.Calls);
        Assert.Null(await f.GetAsync<BoxRecord>(BoxId("dev2")));
    }

    [Fact]
    public async Task GivenSuspendedBoxAndNoFreeInstanceAndNoRoomForAnother_WhenItReturns_ThenAtCapacityAndTheStoreIsUnchanged()
    {
        await using var f = Create(pool: OneInstance);
        await f.AddReadyPairAsync();
        var first = await f.Connect.ConnectAsync(User, "dev1");
        await f.Disconnect.DisconnectAsync(first.Box.Id, first.SessionId);
        await f.AddVolumeAsync();
        await f.Connect.ConnectAsync(User, "dev2"); // takes the only instance
        f.ClearCalls();
        var before = await f.RowsAsync();

        await Flow.FailsWithAsync(ConnectFlow.AtCapacityErrorId, () => f.Connect.ConnectAsync(User, "dev1"));

        Assert.Equal(before, await f.RowsAsync());
        Assert.Empty(f.Infra.Log.Calls);
    }

    [Fact]
    public async Task GivenOnlyAnExpiredLingerHoldsTheInstance_WhenNewBoxConnects_ThenTheLingerIsReclaimedOnDemandAndTheConnectSucceeds()
    {
        await using var f = Create(Linger);
        var (instance, _) = await f.AddReadyPairAsync();
        var first = await f.Connect.ConnectAsync(User, "dev1");
        await f.Disconnect.DisconnectAsync(first.Box.Id, first.SessionId);
        await f.AddVolumeAsync();
        f.Time.Advance(Linger + TimeSpan.FromSeconds(1));

        var second = await f.Connect.ConnectAsync(User, "dev2");

        Assert.Equal("new-with-attach", second.Trace.Path);
        Assert.Equal(instance, second.Box.InstanceId);
        Assert.Null((await f.BoxAsync("dev1")).InstanceId);
        await f.AssertConsistentAsync();
    }

    [Fact]
    public async Task GivenALingerHoldsTheOnlyInstanceTheCapsAllow_WhenAnotherBoxConnects_ThenTheLingerEndsEarlyAndTheConnectSucceeds()
    {
        await using var f = Create(Linger, OneInstance);
        var (instance, _) = await f.AddReadyPairAsync();
        var first = await f.Connect.ConnectAsync(User, "dev1");
        Assert.Equal("lingering", await f.Disconnect.DisconnectAsync(first.Box.Id, first.SessionId));
        await f.AddVolumeAsync();
        f.Time.Advance(TimeSpan.FromSeconds(10)); // well within the linger

        var second = await f.Connect.ConnectAsync("bob", "dev2");

        Assert.Equal(instance, second.Box.InstanceId);
        var rested = await f.BoxAsync("dev1");
        Assert.Equal((null, null), (rested.InstanceId, rested.LingerUntil));
        Assert.Equal(BoxCatalog.Suspended, (await f.Catalog.GetAsync(User, "dev1")).State);
        await f.AssertConsistentAsync();
    }

    [Fact]
    public async Task GivenMissingBox_WhenConnectWithoutCreate_ThenBoxNotFoundAndNothingClaimed()
    {
        await using var f = Create();
        await f.AddReadyPairAsync();
        var before = await f.RowsAsync();

        await Flow.FailsWithAsync("BoxNotFound", () => f.Connect.ConnectAsync(User, "dev1", create: false));

        Assert.Equal(before, await f.RowsAsync());
    }

    [Theory]
    [InlineData("../x")]
    [InlineData("Dev")]
    [InlineData("")]
    [InlineData("a234567890123456789012345678901234567890")]
    [InlineData("a;rm -rf /")]
    [InlineData("dev 1")]
    [InlineData("-dev")]
    [InlineData("1dev")]
    [InlineData("dev\n1")]
    public async Task GivenInvalidBoxName_WhenConnectingOrCreating_ThenBoxNameInvalidAndTheStoreIsUnchanged(string name)
    {
        await using var f = Create();
        await f.AddReadyPairAsync();
        await f.AddVolumeAsync();
        var before = await f.RowsAsync();

        await Flow.FailsWithAsync("BoxNameInvalid", () => f.Connect.ConnectAsync(User, name));
        await Flow.FailsWithAsync("BoxNameInvalid", () => f.Catalog.CreateAsync(User, name));
        await Flow.FailsWithAsync("BoxNameInvalid", () => f.Catalog.GetAsync(User, name));

        Assert.Equal(before, await f.RowsAsync());
        Assert.Empty(f.Infra.Log.Calls);
        Assert.Empty(f.Runtime.Log.Calls);
    }

    [Theory]
    [InlineData("")]
    [InlineData("Alice")]
    [InlineData("../root")]
    [InlineData("a b")]
    public async Task GivenInvalidUserId_WhenConnecting_ThenUserIdInvalidAndTheStoreIsUnchanged(string user)
    {
        await using var f = Create();
        await f.AddReadyPairAsync();
        var before = await f.RowsAsync();

        await Flow.FailsWithAsync("UserIdInvalid", () => f.Connect.ConnectAsync(user, "dev1"));

        Assert.Equal(before, await f.RowsAsync());
    }

    [Fact]
    public async Task GivenMaximalValidName_WhenConnecting_ThenItIsAccepted()
    {
        await using var f = Create();
        await f.AddReadyPairAsync();
        var name = "a" + new string('9', 31);

        var connection = await f.Connect.ConnectAsync(User, name);

        Assert.Equal(name, connection.Box.BoxName);
    }

    [Fact]
    public async Task GivenResumeFailsOnLooseResources_WhenNewBoxConnects_ThenTheErrorSurfacesAndTheInstanceIsBackInThePool()
    {
        await using var f = Create();
        var instance = await f.AddInstanceAsync();
        var volume = await f.AddVolumeAsync();
        f.Runtime.Log.Fail(nameof(FakeBoxRuntime.ResumeAsync));

        await Flow.FailsWithAsync(CallLog.InjectedFailure, () => f.Connect.ConnectAsync(User, "dev1"));

        await AssertReleasedAsync(f, instance, volume);
        Assert.Equal(1, f.Infra.Log.Count(nameof(FakeInfrastructure.DetachAsync)));
        Assert.Contains((await f.Store.ReadEventsAsync(10)), e => e.Kind == "connect" && !e.Succeeded);
    }

    [Fact]
    public async Task GivenResumeFailsOnAReadyPair_WhenNewBoxConnects_ThenTheErrorSurfacesAndTheInstanceIsBackInThePool()
    {
        await using var f = Create();
        var (instance, volume) = await f.AddReadyPairAsync();
        f.Runtime.Log.Fail(nameof(FakeBoxRuntime.ResumeAsync));

        await Flow.FailsWithAsync(CallLog.InjectedFailure, () => f.Connect.ConnectAsync(User, "dev1"));

        await AssertReleasedAsync(f, instance, volume);
        Assert.False(f.Runtime.IsRunning(instance, volume));
    }

    [Fact]
    public async Task GivenResumeFailsWithLinger_WhenNewBoxConnects_ThenTheInstanceIsBackInThePoolAtOnceNotLingering()
    {
        await using var f = Create(Linger);
        var instance = await f.AddInstanceAsync();
        var volume = await f.AddVolumeAsync();
        f.Runtime.Log.Fail(nameof(FakeBoxRuntime.ResumeAsync));

        await Flow.FailsWithAsync(CallLog.InjectedFailure, () => f.Connect.ConnectAsync(User, "dev1"));

        await AssertReleasedAsync(f, instance, volume);
        Assert.Null((await f.BoxAsync("dev1")).LingerUntil);
    }

    [Fact]
    public async Task GivenAttachFails_WhenNewBoxConnects_ThenTheErrorSurfacesNothingResumesAndTheInstanceIsBackInThePool()
    {
        await using var f = Create();
        var instance = await f.AddInstanceAsync();
        var volume = await f.AddVolumeAsync();
        f.Infra.Log.Fail(nameof(FakeInfrastructure.AttachAsync));

        await Flow.FailsWithAsync(CallLog.InjectedFailure, () => f.Connect.ConnectAsync(User, "dev1"));

        await AssertReleasedAsync(f, instance, volume);
        Assert.Equal(0, f.Runtime.Log.Count(nameof(FakeBoxRuntime.ResumeAsync)));
    }

    [Fact]
    public async Task GivenResumeFailsAndTheCleanupDetachFailsToo_WhenConnecting_ThenTheResumeErrorSurfacesAndReconcileFreesTheInstanceLater()
    {
        await using var f = Create();
        var instance = await f.AddInstanceAsync();
        var volume = await f.AddVolumeAsync();
        f.Runtime.Log.Fail(nameof(FakeBoxRuntime.ResumeAsync));
        f.Infra.Log.Fail(nameof(FakeInfrastructure.DetachAsync));

        var e = await Flow.FailsWithAsync(CallLog.InjectedFailure, () => f.Connect.ConnectAsync(User, "dev1"));

        Assert.Contains(nameof(FakeBoxRuntime.ResumeAsync), e.Message);
        var box = await f.BoxAsync("dev1");
        Assert.Empty(box.Sessions);
        Assert.Null(box.Mark);

        f.Time.Advance(f.Settings.LeaseDuration + TimeSpan.FromSeconds(1));
        await f.Reconciler.ReconcileAsync();

        await AssertReleasedAsync(f, instance, volume);
    }

    [Fact]
    public async Task GivenBoxIsSuspending_WhenConnecting_ThenItWaitsAndJoinsOnceTheSuspendEnds()
    {
        await using var f = Create();
        await f.AddReadyPairAsync();
        var first = await f.Connect.ConnectAsync(User, "dev1");
        var box = await f.BoxAsync("dev1");
        box = await f.Store.ReplaceAsync(box with { Mark = TransitionMark.Start(TransitionAct.Release, "rival", f.Time.GetUtcNow()) });

        var waiting = Task.Run(() => f.Connect.ConnectAsync(User, "dev1"));
        for (var i = 0; i < 20; i++)
        {
            f.Time.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Delay(2);
        }

        Assert.False(waiting.IsCompleted);
        await f.Store.ReplaceAsync(box with { Mark = null });
        var second = await f.DriveAsync(waiting);

        Assert.Equal("joining", second.Trace.Path);
        Assert.Equal([first.SessionId, second.SessionId], (await f.BoxAsync("dev1")).Sessions.Select(s => s.Id));
    }

    [Fact]
    public async Task GivenBoxBeingRemoved_WhenConnecting_ThenBoxBusyAfterAMinuteAndNothingChanges()
    {
        await using var f = Create();
        await f.AddReadyPairAsync();
        var c = await f.Connect.ConnectAsync(User, "dev1");
        await f.Disconnect.DisconnectAsync(c.Box.Id, c.SessionId);
        await f.Store.ReplaceAsync(await f.BoxAsync("dev1") with { Mark = TransitionMark.Start(TransitionAct.Remove, "remover", f.Time.GetUtcNow()) });
        var before = await f.RowsAsync();

        var e = await Flow.FailsWithAsync("BoxBusy", () => f.DriveAsync(Task.Run(() => f.Connect.ConnectAsync(User, "dev1")), TimeSpan.FromSeconds(1)));

        Assert.Equal(Errors.ShellboxErrorKind.Service, e.Kind);
        Assert.Equal(before, await f.RowsAsync());
    }

    [Fact]
    public async Task GivenARelaseWhoseHolderDied_WhenConnecting_ThenOnceItsMarkExpiresTheReleaseIsFinishedAndTheBoxResumes()
    {
        await using var f = Create();
        var (instance, volume) = await f.AddReadyPairAsync();
        var first = await f.Connect.ConnectAsync(User, "dev1");
        var box = await f.BoxAsync("dev1");
        await f.Store.ReplaceAsync(box with { Sessions = [], Mark = TransitionMark.Start(TransitionAct.Release, first.SessionId, f.Time.GetUtcNow()) });

        var again = await f.DriveAsync(Task.Run(() => f.Connect.ConnectAsync(User, "dev1")), TimeSpan.FromSeconds(1));

        Assert.Equal("returning", again.Trace.Path);
        Assert.Equal(volume, again.Box.VolumeId);
        Assert.Null((await f.BoxAsync("dev1")).Mark);
        Assert.Contains(f.Runtime.Log.Calls, call => call.ToString() == $"SuspendAsync({instance}, {volume})");
        await f.AssertConsistentAsync();
    }

    [Fact]
    public async Task GivenLingeringBoxWhoseInstanceVanished_WhenReconcileForgetsTheInstanceAndTheUserReturns_ThenTheBoxConnectsOnAnotherInstance()
    {
        await using var f = Create(Linger);
        var (instance, volume) = await f.AddReadyPairAsync();
        var first = await f.Connect.ConnectAsync(User, "dev1");
        await f.Disconnect.DisconnectAsync(first.Box.Id, first.SessionId);
        await f.Infra.DeleteInstanceAsync(instance); // gone out of band: an operator, a host failure
        f.Time.Advance(Linger + TimeSpan.FromSeconds(1));
        var pass = await f.Reconciler.ReconcileAsync(); // forgets the ghost, creates a fresh instance
        Assert.Contains(pass.Outcomes, o => o.Action is ForgetGhost { Id: var id } && id == instance);
        Assert.Null(await f.GetAsync<InstanceRecord>(instance));

        var again = await f.Connect.ConnectAsync(User, "dev1");

        Assert.Equal("returning", again.Trace.Path);
        Assert.NotEqual(instance, again.Box.InstanceId);
        Assert.Equal(volume, again.Box.VolumeId);
        await f.AssertConsistentAsync();
    }

    private static async Task AssertReleasedAsync(FlowFixture f, string instance, string volume)
    {
        var i = await f.InstanceAsync(instance);
        Assert.True(i.IsFree, $"instance {instance} is {i.Status}, lease {i.Lease}");
        Assert.Null(i.VolumeId);
        Assert.False(i.BoxRunning);
        var v = await f.VolumeAsync(volume);
        Assert.Null(v.InstanceId);
        Assert.Null(v.Lease);
        Assert.Null(f.Infra.AttachedTo(instance));
        var box = await f.BoxAsync("dev1");
        Assert.Null(box.InstanceId);
        Assert.Empty(box.Sessions);
        Assert.Null(box.Mark);
        await f.AssertConsistentAsync();
    }
}
