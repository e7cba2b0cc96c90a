using System.Net;
using Shellbox.Core.Errors;

namespace Shellbox.Status;

/// <summary>
/// Where the status server listens. Loopback by default: /pool/status names every box id and resource, and
/// nothing authenticates a scrape, so another address needs <see cref="AllowRemote"/> on purpose.
/// </summary>
public sealed record StatusServerOptions
{
    /// <summary>The port Prometheus exporters use by convention.</summary>
    public const int DefaultPort = 9464;

    public IPAddress Address { get; init; } = IPAddress.Loopback;

    public int Port { get; init; } = DefaultPort;

    /// <summary>True lets the server listen on a non-loopback address (a scraper on another host, behind a firewall).</summary>
    public bool AllowRemote { get; init; }

    /// <summary>How long one store and inventory read serves scrapes, so several scrapers cost one read.</summary>
    public TimeSpan RefreshInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The prefix HttpListener binds: "+" for the any-address.</summary>
    public string Prefix =>
        Address.Equals(IPAddress.Any) || Address.Equals(IPAddress.IPv6Any)
            ? $"http://+:{Port}/"
            : $"http://{(Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{Address}]" : Address.ToString())}:{Port}/";

    /// <summary>Refuses a port out of range, and a non-loopback address without <see cref="AllowRemote"/>.</summary>
    public StatusServerOptions Validate()
    {
        if (Port is < 1 or > 65535)
        {
            throw ShellboxException.User("StatusPortInvalid", $"The status server port must be 1 to 65535, not {Port}.");
        }

        if (!IPAddress.IsLoopback(Address) && !AllowRemote)
        {
            throw ShellboxException.User(
                "StatusAddressNotLoopback",
                $"The status server listens on loopback only; {Address} is reachable from other hosts and the server has no authentication (its /pool/status names every box). Pass -AllowRemote to listen there anyway.");
        }

        return this;
    }
}
