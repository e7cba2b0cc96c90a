using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace Shellbox.Local.Network;

/// <summary>
/// What a box must not reach although the bastion can: the bastion itself on any of its addresses, the
/// networks it sits on (on Azure that is the subnet of the other instances, each forwarding its box's SSH
/// port on its private address; locally the LAN, docker bridges), and link-local addresses (the cloud's
/// instance metadata service at 169.254.169.254). Everything else the bastion reaches, the box reaches.
/// slirp4netns connects out from the bastion, so these are made unreachable inside the box's namespace
/// rather than on the host, which stays untouched. Read at each start: addresses added later are not in it.
/// </summary>
internal static class HostDestinations
{
    private const string LinkLocal = "169.254.0.0/16";

    /// <summary>IPv4 prefixes ("192.0.2.2/32", "192.0.2.0/24", ...); the namespace has no IPv6 route at all.</summary>
    public static IReadOnlyList<string> Unreachable()
    {
        var prefixes = new List<string> { LinkLocal };
        foreach (var address in NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Where(a => a.Address.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a.Address)))
        {
            prefixes.Add($"{address.Address}/32");
            if (address.PrefixLength is > 0 and < 32)
            {
                prefixes.Add($"{Network(address.Address, address.PrefixLength)}/{address.PrefixLength}");
            }
        }

        return prefixes.Distinct(StringComparer.Ordinal).ToList();
    }

    private static IPAddress Network(IPAddress address, int prefixLength)
    {
        var bytes = address.GetAddressBytes();
        var mask = uint.MaxValue << (32 - prefixLength);
        var value = ((uint)bytes[0] << 24 | (uint)bytes[1] << 16 | (uint)bytes[2] << 8 | bytes[3]) & mask;
        return new IPAddress([(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value]);
    }
}
