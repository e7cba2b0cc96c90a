using Shellbox.Status;

namespace Shellbox.PowerShell.Output;

/// <summary>A running status server: where to scrape it.</summary>
public sealed class ShellboxStatusServerInfo
{
    internal ShellboxStatusServerInfo(StatusServer server, string stateDirectory, string provider)
    {
        Address = server.Options.Address.ToString();
        Port = server.Options.Port;
        Url = server.Url.ToString().TrimEnd('/');
        MetricsUrl = Url + StatusServer.MetricsPath;
        PoolStatusUrl = Url + StatusServer.PoolStatusPath;
        Started = server.Started;
        StateDirectory = stateDirectory;
        Provider = provider;
    }

    public string Address { get; }

    public int Port { get; }

    public string Url { get; }

    public string MetricsUrl { get; }

    public string PoolStatusUrl { get; }

    public DateTimeOffset Started { get; }

    public string StateDirectory { get; }

    public string Provider { get; }
}
