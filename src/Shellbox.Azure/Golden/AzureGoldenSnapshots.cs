using System.Globalization;
using System.Security.Cryptography;
using Azure;
using Azure.Core;
using Azure.ResourceManager.Compute;
using Azure.ResourceManager.Compute.Models;
using Shellbox.Azure.Arm;
using Shellbox.Azure.Runtime;
using Shellbox.Core.Errors;
using Shellbox.Core.Model;
using Shellbox.Core.Ports;

namespace Shellbox.Azure.Golden;

/// <summary>
/// The golden snapshot on Azure: an incremental snapshot named by its inputs' version. Made once: a
/// temporary empty disk and a temporary VM with it at LUN 0, `shellbox-agent build-golden` over SSH (it
/// builds the box on the disk, boots it once and suspends it), a snapshot of the disk, then the VM, its
/// NIC, its OS disk and the data disk are deleted whatever happened. Every temporary resource carries
/// the shellbox:golden-build tag, so a build that died half-way is swept by the next one.
/// </summary>
internal sealed class AzureGoldenSnapshots(ArmContext arm, NetworkInterfaces nics, IInstanceAgent agent, string controlPublicKey, AzureProviderOptions options)
{
    internal const string Activity = "Shellbox golden snapshot";

    /// <summary>What a POSIX shell exits with for a command it cannot find.</summary>
    private const int CommandNotFound = 127;

    public async Task<GoldenSnapshotInfo?> GetCurrentAsync(CancellationToken cancellationToken) =>
        await FindAsync(Inputs().Version, cancellationToken).ConfigureAwait(false);

    public async Task<GoldenSnapshotInfo> EnsureAsync(IProgress<ShellboxProgress>? progress, CancellationToken cancellationToken)
    {
        progress?.Report(new ShellboxProgress(Activity, "Hashing the golden's inputs", 0));
        var version = Inputs().Version;
        if (await FindAsync(version, cancellationToken).ConfigureAwait(false) is { } existing)
        {
            progress?.Report(new ShellboxProgress(Activity, $"{version} is up to date", 100));
            return existing;
        }

        // A temporary resource older than this belongs to a build that cannot still be running.
        var abandonedAfter = options.InstanceBootTimeout + options.GoldenBuildTimeout + TimeSpan.FromMinutes(30);
        await new AbandonedGoldenBuilds(arm, abandonedAfter).SweepAsync(progress, cancellationToken).ConfigureAwait(false);
        return await BuildAsync(version, progress, cancellationToken).ConfigureAwait(false);
    }

    private GoldenInputs Inputs() => GoldenInputs.Read(arm.Settings, controlPublicKey, options.GoldenScriptPath);

    private async Task<GoldenSnapshotInfo?> FindAsync(string version, CancellationToken cancellationToken)
    {
        var snapshot = await arm.FindSnapshotAsync(version, cancellationToken).ConfigureAwait(false);
        return snapshot is null || !string.Equals(snapshot.Data.ProvisioningState, "Succeeded", StringComparison.OrdinalIgnoreCase)
            ? null
            : Info(snapshot);
    }

    private GoldenSnapshotInfo Info(SnapshotResource snapshot)
    {
        // Our own tag, not timeCreated: the same golden must report the same instant on every read.
        var created = snapshot.Data.Tags.TryGetValue(TagKeys.Created, out var text)
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var at)
            ? at
            : snapshot.Data.TimeCreated ?? DateTimeOffset.UnixEpoch;
        return new GoldenSnapshotInfo(snapshot.Data.Name, snapshot.Id.ToString(), created);
    }

    private async Task<GoldenSnapshotInfo> BuildAsync(string version, IProgress<ShellboxProgress>? progress, CancellationToken cancellationToken)
    {
        var settings = arm.Settings;
        var started = arm.Time.GetUtcNow();
        var vmName = $"golden-build-{Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToLowerInvariant()}";
        var diskName = $"{vmName}-data";
        var tags = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [AzureTagKeys.GoldenBuild] = started.ToString("O", CultureInfo.InvariantCulture),
            [TagKeys.Golden] = version,
        };
        try
        {
            progress?.Report(new ShellboxProgress(Activity, $"Creating the build disk {diskName}", 10));
            var diskData = ManagedDiskDefinition.Empty(settings, tags);
            var disk = await arm.WriteAsync(
                $"create the golden build disk '{diskName}'",
                async ct => (await arm.ResourceGroup.GetManagedDisks().CreateOrUpdateAsync(WaitUntil.Completed, diskName, diskData, ct).ConfigureAwait(false)).Value,
                cancellationToken).ConfigureAwait(false);

            progress?.Report(new ShellboxProgress(Activity, $"Creating the build VM {vmName}", 20));
            var hostKey = InstanceHostKey.Generate($"shellbox-{vmName}");
            var vmTags = new Dictionary<string, string>(tags, StringComparer.Ordinal) { [AzureTagKeys.HostKey] = hostKey.PublicKeyOpenSsh };
            var vmData = VirtualMachineDefinition.Build(settings, vmName, vmTags, CloudInit.Base64(CloudInit.Build(hostKey, settings.AgentPackageUrl)), controlPublicKey, disk.Id);
            var vm = await arm.WriteAsync(
                $"create the golden build VM '{vmName}'",
                async ct => (await arm.ResourceGroup.GetVirtualMachines().CreateOrUpdateAsync(WaitUntil.Completed, vmName, vmData, ct).ConfigureAwait(false)).Value,
                cancellationToken).ConfigureAwait(false);
            var nicId = vm.Data.NetworkProfile?.NetworkInterfaces.FirstOrDefault()?.Id
                ?? throw ShellboxException.Service("GoldenBuildFailed", $"The golden build VM '{vmName}' has no network interface.");
            var address = await ArmErrors.GuardAsync(arm.CredentialName, $"read the address of VM '{vmName}'", () => nics.PrivateAddressAsync(nicId, cancellationToken)).ConfigureAwait(false);
            var instance = new InstanceAddress(address, settings.InstanceSshPort, hostKey.PublicKeyOpenSsh);

            progress?.Report(new ShellboxProgress(Activity, $"Waiting for {vmName} to answer SSH (cloud-init installs QEMU and the agent)", 30));
            await WaitForSshAsync(vmName, instance, cancellationToken).ConfigureAwait(false);

            progress?.Report(new ShellboxProgress(Activity, "Building, booting and suspending the box on the build disk (shellbox-agent build-golden)", 50));
            var result = await RunBuildAsync(vmName, instance, cancellationToken).ConfigureAwait(false);
            if (result.ExitCode != 0)
            {
                var reason = result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "no message";
                throw ShellboxException.Service("GoldenBuildFailed", $"shellbox-agent build-golden failed on '{vmName}' (exit {result.ExitCode}): {ArmErrors.Scrub(reason)}");
            }

            if (await FindAsync(version, cancellationToken).ConfigureAwait(false) is { } raced)
            {
                return raced; // another build finished first: its snapshot stands
            }

            progress?.Report(new ShellboxProgress(Activity, $"Taking the incremental snapshot {version}", 85));
            var snapshotData = new SnapshotData(new AzureLocation(settings.Location))
            {
                CreationData = new DiskCreationData(DiskCreateOption.Copy) { SourceResourceId = disk.Id },
                Incremental = true,
            };
            snapshotData.Tags[TagKeys.Golden] = version;
            snapshotData.Tags[TagKeys.Created] = arm.Time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture);
            var snapshot = await arm.WriteAsync(
                $"snapshot the golden disk as '{version}'",
                async ct => (await arm.ResourceGroup.GetSnapshots().CreateOrUpdateAsync(WaitUntil.Completed, version, snapshotData, ct).ConfigureAwait(false)).Value,
                cancellationToken).ConfigureAwait(false);
            progress?.Report(new ShellboxProgress(Activity, $"{version} is ready", 95));
            return Info(snapshot);
        }
        finally
        {
            progress?.Report(new ShellboxProgress(Activity, $"Deleting the build VM {vmName} and its disks", 97));
            await CleanUpAsync(vmName, diskName, progress).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Runs build-golden once the agent is there: sshd answers while cloud-init is still installing it, and
    /// a shell answers 127 for a command it does not have yet.
    /// </summary>
    private async Task<AgentResult> RunBuildAsync(string vmName, InstanceAddress instance, CancellationToken cancellationToken)
    {
        var deadline = arm.Time.GetUtcNow() + options.InstanceBootTimeout;
        while (true)
        {
            // The box's disk follows the volume's size (the agent leaves room for its RAM file beside it).
            var volumeGiB = arm.Settings.VolumeSizeGB.ToString(CultureInfo.InvariantCulture);
            var result = await agent.RunAsync(instance, ["build-golden", "--control-key", controlPublicKey, "--volume-gib", volumeGiB], options.GoldenBuildTimeout, cancellationToken).ConfigureAwait(false);
            if (result.ExitCode != CommandNotFound)
            {
                return result;
            }

            if (arm.Time.GetUtcNow() >= deadline)
            {
                throw ShellboxException.Service("GoldenBootFailed", $"shellbox-agent was still not installed on the golden build VM '{vmName}' after {options.InstanceBootTimeout.TotalMinutes:0.#} minutes; check AgentPackageUrl and the VM's cloud-init log.");
            }

            await Task.Delay(options.SshProbeInterval, arm.Time, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task WaitForSshAsync(string vmName, InstanceAddress instance, CancellationToken cancellationToken)
    {
        var deadline = arm.Time.GetUtcNow() + options.InstanceBootTimeout;
        while (!await SshBanner.AnswersAsync(instance.Host, instance.Port, TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false))
        {
            if (arm.Time.GetUtcNow() >= deadline)
            {
                throw ShellboxException.Service("GoldenBootFailed", $"The golden build VM '{vmName}' did not answer SSH at {instance.Host}:{instance.Port} within {options.InstanceBootTimeout.TotalMinutes:0.#} minutes.");
            }

            await Task.Delay(options.SshProbeInterval, arm.Time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Deletes the build VM (its NIC and OS disk go with it) and then the build disk. Runs even when the
    /// build was cancelled; a failure here is reported, not thrown over the build's own outcome, and the
    /// next build's sweep finds what is left by its tag.
    /// </summary>
    private async Task CleanUpAsync(string vmName, string diskName, IProgress<ShellboxProgress>? progress)
    {
        try
        {
            await arm.DeleteAsync($"delete the golden build VM '{vmName}'", ct => arm.Client.GetVirtualMachineResource(arm.VmId(vmName)).DeleteAsync(WaitUntil.Completed, cancellationToken: ct), CancellationToken.None).ConfigureAwait(false);
            await arm.DeleteAsync($"delete the golden build disk '{diskName}'", ct => arm.Client.GetManagedDiskResource(arm.DiskId(diskName)).DeleteAsync(WaitUntil.Completed, ct), CancellationToken.None).ConfigureAwait(false);
        }
        catch (ShellboxException e)
        {
            Core.Observability.ShellboxLog.Dropped("Shellbox.Azure.Golden", $"golden build vm={vmName} disk={diskName} left for the next build's sweep", e);
            progress?.Report(new ShellboxProgress(Activity, $"Left {vmName} for the next build's sweep: {e.Message}"));
        }
    }
}
