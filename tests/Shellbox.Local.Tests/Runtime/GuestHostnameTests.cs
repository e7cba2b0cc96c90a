using Shellbox.Local.Runtime;

namespace Shellbox.Local.Tests.Runtime;

/// <summary>
/// The /etc/hosts edit the runtime makes on the host side when it names a box through its guest agent: the same lines
/// shellbox-hostname's sed leaves in the guest.
/// </summary>
public sealed class GuestHostnameTests
{
    [Fact]
    public void The_127_0_1_1_line_names_the_box_and_every_other_line_is_kept_byte_for_byte()
    {
        var hosts = "127.0.0.1\tlocalhost\n127.0.1.1\tshellbox old-alias\n::1\t\tlocalhost ip6-localhost ip6-loopback\n# 127.0.1.1 in a comment\n10.0.0.9 build\n";

        Assert.Equal(
            "127.0.0.1\tlocalhost\n127.0.1.1\tdev44\n::1\t\tlocalhost ip6-localhost ip6-loopback\n# 127.0.1.1 in a comment\n10.0.0.9 build\n",
            GuestHostname.WithLoopbackName(hosts, "dev44"));
    }

    [Fact]
    public void A_127_0_1_1_line_ending_the_file_without_a_newline_or_separated_by_spaces_is_named_too()
    {
        Assert.Equal("127.0.0.1 localhost\n127.0.1.1\tbox-2", GuestHostname.WithLoopbackName("127.0.0.1 localhost\n127.0.1.1   shellbox", "box-2"));
    }

    [Fact]
    public void A_file_without_a_127_0_1_1_line_and_an_address_only_line_are_left_as_they_are()
    {
        // sed's \s needs a blank after the address: a bare "127.0.1.1" line is not one it rewrites, and the next line
        // must not be taken with it.
        var hosts = "127.0.0.1 localhost\n127.0.1.1\nother 127.0.1.1 x\n";
        Assert.Equal(hosts, GuestHostname.WithLoopbackName(hosts, "dev"));
    }
}
