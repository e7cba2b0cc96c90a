namespace Shellbox.Local.Network;

/// <summary>
/// The network and mount namespaces a box's QEMU runs in, so the guest's gateway 10.0.2.2 (which QEMU's
/// user-mode network maps to "127.0.0.1 where QEMU runs") is the namespace's own empty loopback, not the
/// bastion's. QEMU's <c>-netdev user</c> stays as it was (saved states carry its slirp section, and the
/// guest keeps 10.0.2.15 via 10.0.2.2, DNS 10.0.2.3). The namespace reaches out only through
/// slirp4netns (<see cref="SlirpNetwork"/>), started from the bastion's side once the namespace exists.
/// Nothing here changes the host: the namespaces live exactly as long as the QEMU process in them.
/// </summary>
internal static class BoxNamespace
{
    /// <summary>slirp4netns's default tap0 address inside the namespace: QEMU's SSH forward listens there.</summary>
    public const string InsideAddress = "10.0.2.100";

    /// <summary>slirp4netns's DNS forwarder, as seen from inside the namespace: it asks the bastion's resolver.</summary>
    public const string SlirpDns = "10.0.2.3";

    // fd 7 (net.exit) is held by QEMU for its whole life: slirp4netns's --exit-fd reads its other end and
    // ends when QEMU does, whatever kills it. fd 8 (net.ready) receives slirp4netns's "1" once tap0 is up,
    // and stays open so a later slirp4netns can attach to the same namespace (SlirpNetwork.EnsureAsync).
    // QEMU is exec'd only when the network is up, so its SSH forward can bind the tap0 address at once.
    // The shell execs unshare, which execs the inner shell, which execs QEMU: one pid throughout.
    private const string Script = """
        run=$1 unreachable=$2 userns=$3; shift 3
        rm -f "$run/net.exit" "$run/net.ready" "$run/net.sock" && mkfifo "$run/net.exit" "$run/net.ready" || exit 1
        exec unshare $userns --net --mount -- sh -c '
        run=$1 unreachable=$2; shift 2
        exec 7<>"$run/net.exit" 8<>"$run/net.ready"
        mount --bind "$run/resolv.conf" /etc/resolv.conf || { echo "shellbox-net: cannot give the box its resolv.conf" >&2; exit 1; }
        [ "$(head -c 1 <&8)" = 1 ] || { echo "shellbox-net: slirp4netns did not bring the box network up" >&2; exit 1; }
        printf "route add unreachable %s\n" $unreachable | ip -batch - || { echo "shellbox-net: cannot close the box network to the bastion" >&2; exit 1; }
        exec "$@"' shellbox-net "$run" "$unreachable" "$@"
        """;

    public static string ExitFifo(string runFolder) => Path.Combine(runFolder, "net.exit");

    public static string ReadyFifo(string runFolder) => Path.Combine(runFolder, "net.ready");

    public static string ApiSocket(string runFolder) => Path.Combine(runFolder, "net.sock");

    public static string Log(string runFolder) => Path.Combine(runFolder, "net.log");

    private static string ResolvConf(string runFolder) => Path.Combine(runFolder, "resolv.conf");

    /// <summary>
    /// The command that runs <c>command</c> (QEMU) in new namespaces once slirp4netns has attached; writes the
    /// namespace's resolv.conf first. <paramref name="dnsServers"/> null: the bastion's resolver, through slirp4netns.
    /// </summary>
    public static IReadOnlyList<string> Wrap(string runFolder, IReadOnlyList<string>? dnsServers, IReadOnlyList<string> command)
    {
        Directory.CreateDirectory(runFolder);

        // QEMU's slirp forwards the guest's DNS (10.0.2.3) to the first nameserver of /etc/resolv.conf as QEMU
        // sees it; the bastion's may be on its loopback (systemd-resolved), which the namespace cannot reach.
        var servers = dnsServers is { Count: > 0 } ? dnsServers : [SlirpDns];
        File.WriteAllText(ResolvConf(runFolder), string.Concat(servers.Select(s => $"nameserver {s}\n")));

        // As root the namespaces are the host's to make; any other user makes them inside a user namespace.
        var userNamespace = Environment.IsPrivilegedProcess ? "" : "--user --map-root-user";
        return ["sh", "-c", Script, "shellbox-net", runFolder, string.Join(' ', HostDestinations.Unreachable()), userNamespace, .. command];
    }

    private static string SlirpPid(string runFolder) => Path.Combine(runFolder, "net.pid");

    /// <summary>
    /// Once QEMU has ended: waits (up to a second) for its slirp4netns to end too, which it does at once (exit-fd),
    /// so the next start's port and files are not the old one's; then removes the namespace's run files.
    /// </summary>
    public static void RemoveRunFiles(string runFolder)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(1);
        while (SlirpRuns(runFolder) && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(2);
        }

        foreach (var file in (string[])[ExitFifo(runFolder), ReadyFifo(runFolder), ResolvConf(runFolder), ApiSocket(runFolder), SlirpPid(runFolder)])
        {
            File.Delete(file);
        }
    }

    private static bool SlirpRuns(string runFolder)
    {
        try
        {
            var pid = File.ReadAllText(SlirpPid(runFolder)).Trim();
            return File.ReadAllText($"/proc/{pid}/cmdline").Contains(ApiSocket(runFolder), StringComparison.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
