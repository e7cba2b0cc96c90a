using Shellbox.Local.Qemu;

namespace Shellbox.Local.Tests.Runtime;

public sealed class QemuMachineTests
{
    private static QemuLaunch Launch(string folder, int port, string address = "127.0.0.1") => new(
        "box", $"{folder}/ram.img", $"{folder}/box.qcow2", address, port, $"{folder}/console.log", $"{folder}/qmp.sock", "/g/vmlinuz", "/g/initrd.img", "console=ttyS0", Incoming: true);

    [Fact]
    public void The_fingerprint_covers_the_machine_and_not_where_or_on_which_port_it_runs()
    {
        var machine = QemuMachine.Create(256, "tcg");
        Assert.Equal(machine.Fingerprint, QemuMachine.Create(256, "TCG").Fingerprint);
        Assert.NotEqual(machine.Fingerprint, QemuMachine.Create(320, "tcg").Fingerprint);
        Assert.NotEqual(machine.Fingerprint, QemuMachine.Create(256, "kvm").Fingerprint);

        var a = machine.Arguments(Launch("/a", 22001));
        var b = machine.Arguments(Launch("/b", 22002));
        Assert.NotEqual(a, b);
        Assert.Contains("pc-i440fx-7.2,memory-backend=mem", a);
        Assert.Contains("memory-backend-file,id=mem,size=256M,share=on,mem-path=/a/ram.img", a);
        Assert.Contains("user,id=n0,hostfwd=tcp:10.0.2.100:22001-:22", a);
        Assert.Equal(["-S", "-incoming", "defer"], a.TakeLast(3));
    }

    [Fact]
    public void The_ssh_forward_address_is_per_run_and_the_fingerprint_is_the_one_saved_states_carry()
    {
        var machine = QemuMachine.Create(256, "tcg");

        // QEMU forwards inside the box's namespace, whatever address slirp4netns publishes it at on the
        // bastion (an instance's private address, Local's loopback): same machine.
        Assert.Contains("user,id=n0,hostfwd=tcp:10.0.2.100:2222-:22", machine.Arguments(Launch("/a", 2222, "127.0.1.7")));

        // The fingerprint volumes suspended before the address became a per-run part carry in meta.json;
        // another value here would refuse to resume every one of them.
        Assert.Equal("fc23b8424895a25c71d10305d6dddd69e88caef7df4ad218c81c4f2335c3f08a", machine.Fingerprint);
    }

    [Fact]
    public void A_comma_in_a_path_is_doubled_so_qemu_does_not_split_the_option_there()
    {
        var args = QemuMachine.Create(256, "tcg").Arguments(Launch("/odd,folder", 22001));
        Assert.Contains("file=/odd,,folder/box.qcow2,if=virtio,format=qcow2", args);
    }

    [Fact]
    public void An_unknown_accelerator_is_a_user_error()
    {
        var error = Assert.Throws<Core.Errors.ShellboxException>(() => QemuMachine.Create(256, "hvf"));
        Assert.Equal(Core.Errors.ShellboxErrorKind.User, error.Kind);
    }
}
