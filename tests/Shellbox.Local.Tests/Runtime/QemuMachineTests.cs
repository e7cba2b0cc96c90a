using Shellbox.Local.Qemu;

namespace Shellbox.Local.Tests.Runtime;

public sealed class QemuMachineTests
{
    private static QemuLaunch Launch(string folder, int port) => new(
        "box", $"{folder}/ram.img", $"{folder}/box.qcow2", port, $"{folder}/console.log", $"{folder}/qmp.sock", "/g/vmlinuz", "/g/initrd.img", "console=ttyS0", Incoming: true);

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
        Assert.Contains("user,id=n0,hostfwd=tcp:127.0.0.1:22001-:22", a);
        Assert.Equal(["-S", "-incoming", "defer"], a.TakeLast(3));
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
