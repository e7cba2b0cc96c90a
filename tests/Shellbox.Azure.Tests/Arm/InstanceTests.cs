using System.Diagnostics;
using System.Text;
using Shellbox.Azure.Arm;
using Shellbox.Core.Errors;
using Shellbox.Core.Model;

namespace Shellbox.Azure.Tests.Arm;

/// <summary>An instance VM as created: its pinned host key, its cloud-init, its tags, its address.</summary>
public sealed class InstanceTests : IAsyncLifetime
{
    private AzureOnEmulator azure = null!;

    public async Task InitializeAsync() => azure = await AzureOnEmulator.StartAsync();

    public async Task DisposeAsync() => await azure.DisposeAsync();

    [Fact]
    public async Task An_instance_is_one_VM_create_with_its_tags_and_answers_at_its_private_address_with_its_own_pinned_key()
    {
        var infrastructure = azure.Infrastructure();
        var mark = azure.Emulator.Requests.Mark();
        var info = await infrastructure.CreateInstanceAsync("instance-a", new Dictionary<string, string> { [TagKeys.Status] = ResourceStatuses.Free, [TagKeys.LastUsed] = "2026-01-01T00:00:00.0000000+00:00" });

        var write = Assert.Single(azure.Emulator.Requests.Since(mark), r => r.IsWrite);
        Assert.Equal("PUT", write.Method);
        var vm = azure.Emulator.State.FindVirtualMachine("instance-a")!;
        Assert.Equal(ResourceRoles.Instance, vm.Tags[TagKeys.Role]);
        Assert.Equal("2026-01-01T00:00:00.0000000+00:00", vm.Tags[TagKeys.LastUsed]);
        Assert.Equal($"{vm.PrivateIp}:{azure.Settings.InstanceSshPort}", info.Endpoint);
        Assert.StartsWith("ssh-ed25519 AAAA", info.HostKey);
        Assert.Equal(azure.Settings.AdminUsername, vm.AdminUsername);

        // The VM's cloud-init installs exactly that key as its sshd host key, with QEMU and the LUN 0 mount.
        var userData = Encoding.UTF8.GetString(Convert.FromBase64String(vm.CustomData!));
        Assert.StartsWith("#cloud-config\n", userData);
        Assert.Contains($"  ed25519_public: {info.HostKey}\n", userData);
        Assert.Contains("  - qemu-system-x86\n", userData);
        Assert.Contains(CloudInit.DataDiskLun0, userData);
        Assert.Contains(CloudInit.UserDataMount, userData);

        // Another instance has another key.
        var other = await infrastructure.CreateInstanceAsync("instance-b", new Dictionary<string, string>());
        Assert.NotEqual(info.HostKey, other.HostKey);
    }

    [Fact]
    public async Task Deleting_an_instance_leaves_no_NIC_and_no_OS_disk()
    {
        var infrastructure = azure.Infrastructure();
        await infrastructure.CreateInstanceAsync("instance-a", new Dictionary<string, string>());
        Assert.NotEmpty(azure.Emulator.State.NetworkInterfaces);

        await infrastructure.DeleteInstanceAsync("instance-a");

        Assert.Empty(azure.Emulator.State.VirtualMachines);
        Assert.Empty(azure.Emulator.State.NetworkInterfaces);
        Assert.Empty(azure.Emulator.State.Disks);
    }

    [Fact]
    public async Task An_instance_beyond_the_subscriptions_quota_is_refused_in_one_sentence_that_says_so()
    {
        await using var small = await AzureOnEmulator.StartAsync(maxVirtualMachines: 1);
        var infrastructure = small.Infrastructure();
        await infrastructure.CreateInstanceAsync("instance-a", new Dictionary<string, string>());

        var error = await Assert.ThrowsAsync<ShellboxException>(() => infrastructure.CreateInstanceAsync("instance-b", new Dictionary<string, string>()));

        Assert.Equal(ShellboxErrorKind.Conflict, error.Kind);
        Assert.Equal("AzureQuotaExceeded", error.ErrorId);
        Assert.StartsWith("Azure refused to create VM 'instance-b': the subscription's quota is used up;", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void A_generated_host_key_is_a_valid_OpenSSH_ed25519_key_pair()
    {
        var key = InstanceHostKey.Generate("shellbox-test");
        var file = Path.Combine(Directory.CreateTempSubdirectory("shellbox-hostkey-").FullName, "key");
        File.WriteAllText(file, key.PrivateKeyOpenSsh);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite); // ssh-keygen refuses a readable private key
        }

        try
        {
            // ssh-keygen derives the public key from the private one: the pair must agree byte for byte.
            var derive = Process.Start(new ProcessStartInfo("ssh-keygen", ["-y", "-f", file]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
            var output = derive.StandardOutput.ReadToEnd();
            derive.WaitForExit();
            Assert.True(derive.ExitCode == 0, derive.StandardError.ReadToEnd());
            Assert.Equal(key.PublicKeyOpenSsh, string.Join(' ', output.Trim().Split(' ').Take(2)));
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(file)!, recursive: true);
        }
    }
}
