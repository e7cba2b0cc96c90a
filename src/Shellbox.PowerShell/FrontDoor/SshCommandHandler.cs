using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Shellbox.Core.Boxes;
using Shellbox.Core.Engine;
using Shellbox.Core.Errors;
using Shellbox.Core.Users;
using Shellbox.PowerShell.Hosting;
using Shellbox.PowerShell.Output;

namespace Shellbox.PowerShell.FrontDoor;

/// <summary>
/// One `ssh HOST COMMAND` of the bastion for the user of a public key: the checks, the block list, the verb, and the
/// one line a user gets for anything that goes wrong. The same code serves the wrapper's own process (no front door
/// running) and the front door; only where the lines go differs.
/// </summary>
internal sealed class SshCommandHandler(ShellboxEngine engine, ISshCommandOutput output)
{
    private static readonly JsonSerializerOptions Json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <param name="publicKey">The key the user authenticated with, 'TYPE BASE64' (sshd's ExposeAuthInfo).</param>
    /// <param name="command">What the user typed after `ssh HOST` (SSH_ORIGINAL_COMMAND).</param>
    /// <param name="cancellationToken">Stops the work (the wrapper's Ctrl+C, the front door abandoning it).</param>
    public async Task<SshCommandOutcome> RunAsync(string publicKey, string command, CancellationToken cancellationToken)
    {
        if (SshCommandLine.CheckRaw(command) is { } raw)
        {
            return Refuse(raw.Message, raw.ExitCode);
        }

        // Every command of a key the operator blocked gets one line and nothing else: the block list is read (a point
        // read of the store) before any verb is looked at.
        string userId;
        try
        {
            userId = UserKeys.UserIdOf(publicKey);
        }
        catch (ShellboxException)
        {
            return Refuse("the public key sshd reported cannot be read.", 3);
        }

        UserSummary user;
        try
        {
            user = await UserSummary.ReadAsync(engine, userId, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return Refuse($"the bastion cannot read its state ({e.GetType().Name} at {Now()}); try again, or tell the operator.", 1);
        }

        if (user.IsBlocked)
        {
            return Refuse("this key is blocked; contact the operator", 1);
        }

        var (line, refusal) = SshCommandLine.Parse(command);
        if (refusal is not null)
        {
            return Refuse(refusal.Message, refusal.ExitCode);
        }

        try
        {
            return await RunVerbAsync(line!, userId, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return Refuse(UserMessage(e), 1);
        }
    }

    private async Task<SshCommandOutcome> RunVerbAsync(SshCommandLine line, string userId, CancellationToken cancellationToken)
    {
        var (name, rest) = (line.Name, line.Rest);
        switch (line.Verb)
        {
            case "":
                output.Err(SshCommandLine.Usage);
                return new(2);
            case "help":
                output.Out(SshCommandLine.Usage);
                return new(0);
            case "whoami":
                output.Out(userId);
                return new(0);
            case "list":
                var boxes = (await new BoxCatalog(engine).ListAsync(userId, cancellationToken).ConfigureAwait(false)).Select(b => new ShellboxBoxInfo(b)).ToList();
                if (name == "--json")
                {
                    output.Out(JsonSerializer.Serialize(boxes.Select(b => new { name = b.Name, state = b.State, sessions = b.Sessions, created = Time(b.Created), lastUsed = Time(b.LastUsed) }), Json));
                }
                else
                {
                    boxes.ForEach(b => output.Out(string.Format(CultureInfo.InvariantCulture, "{0,-32} {1,-10} {2} session(s)", b.Name, b.State, b.Sessions)));
                }

                return new(0);
            case "info":
                var view = await new BoxCatalog(engine).GetAsync(userId, name, cancellationToken).ConfigureAwait(false);
                var box = new ShellboxBoxInfo(view, await BoxDetails.ReadAsync(engine, view, cancellationToken).ConfigureAwait(false));
                if (rest == "--json")
                {
                    output.Out(JsonSerializer.Serialize(
                        new
                        {
                            name = box.Name, state = box.State, sessions = box.Sessions, created = Time(box.Created), lastUsed = Time(box.LastUsed),
                            diskUsedBytes = box.DiskUsedBytes, ramState = box.RamState, keepalive = box.Keepalive,
                            keptAliveUntil = box.KeptAliveUntil is { } until ? Time(until) : null,
                        },
                        Json));
                    return new(0);
                }

                var disk = box.DiskUsedBytes is { } bytes ? string.Format(CultureInfo.InvariantCulture, "{0:0.0} MiB", bytes / 1048576.0) : "unknown";
                output.Out(string.Join(Environment.NewLine,
                    $"name:       {box.Name}", $"state:      {box.State}", $"sessions:   {box.Sessions}", $"created:    {Time(box.Created)}",
                    $"last used:  {Time(box.LastUsed)}", $"disk used:  {disk}", $"keepalive:  {KeepaliveLine(box)}", $"RAM state:  {box.RamState}"));
                return new(0);
            case "duplicate":
                var copy = await new DuplicateFlow(engine).DuplicateAsync(userId, name, rest, cancellationToken).ConfigureAwait(false);
                output.Out($"duplicated box {name} into {copy.Box.BoxName} (suspended; connect to it to resume)");
                return new(0);
            case "keepalive":
                var kept = new ShellboxBoxInfo(await new KeepaliveFlow(engine).SetAsync(userId, name, KeepaliveDuration.Parse(rest), cancellationToken).ConfigureAwait(false));
                output.Out(kept.Keepalive == KeepaliveDuration.Off
                    ? $"keepalive off: box {name} is suspended when its last session leaves"
                    : $"box {name} keeps running up to {kept.Keepalive} after its last session leaves");
                return new(0);
            case "remove":
                await new BoxCatalog(engine).RemoveAsync(userId, name, cancellationToken).ConfigureAwait(false);
                output.Out($"removed box {name}");
                return new(0);
            case "spinup":
                // The slow path's "making your box, about N s" is one line on stderr, written as it happens.
                var created = await new BoxCatalog(engine, Notices()).CreateAsync(userId, name, cancellationToken).ConfigureAwait(false);
                output.Out($"created box {created.Box.BoxName}");
                return new(0);
            default: // connect: checked by SshCommandLine. A connect while the box's last session is still being released
                     // (the front door answers the user before the suspend) joins the running box or waits for the suspend (ConnectFlow).
                return new(0, await ConnectAsync(userId, name, cancellationToken).ConfigureAwait(false), rest == "" ? null : rest);
        }
    }

    /// <summary>Connects (the box's stdout stays the command's alone: notices go to stderr) and opens the session the caller then hands to ssh.</summary>
    private async Task<OpenSession> ConnectAsync(string userId, string name, CancellationToken cancellationToken)
    {
        var connection = await new ConnectFlow(engine, Notices()).ConnectAsync(userId, name, create: true, cancellationToken).ConfigureAwait(false);
        var session = await OpenSessions.OpenAsync(engine, connection, cancellationToken).ConfigureAwait(false);
        if (connection.LostRunningPrograms)
        {
            output.Err($"shellbox: Box '{name}' had lost its running state (its host stopped without suspending it) and was started fresh from its disk: your files are there, your running programs are not.");
        }

        return session;
    }

    /// <summary>What `keepalive NAME DURATION` set, and while the box runs with nobody connected, until when.</summary>
    private static string KeepaliveLine(ShellboxBoxInfo box) =>
        (box.Keepalive == KeepaliveDuration.Off ? "off: suspended when its last session leaves" : $"{box.Keepalive} after its last session leaves")
        + (box.KeptAliveUntil is { } until ? $"; running with nobody connected until {Time(until)}" : "");

    private CallThroughProgress<ConnectNotice> Notices() => new(notice => output.Err($"shellbox: {notice}"));

    /// <summary>
    /// Only what the user can act on is shown as written (bad name, no such box, quota, capacity, box busy); anything
    /// else may carry paths or other users' names: the user gets its id and the time, the operator finds the details in
    /// Get-ShellboxEvent. A saved state that will not load (corrupt, or saved under other machine settings) is the
    /// operator's to fix (-ColdBoot): trying again cannot help, so the user is told to ask, and that the files are safe.
    /// </summary>
    private static string UserMessage(Exception e)
    {
        var shown = e is ShellboxException { Kind: ShellboxErrorKind.User or ShellboxErrorKind.NotFound } and not SavedStateUnloadableException
            or ShellboxException { ErrorId: "AtCapacity" or "BoxBusy" };
        var id = e is ShellboxException s ? s.ErrorId : e.GetType().Name;
        var message = shown ? e.Message
            : e is SavedStateUnloadableException
                ? $"the box's saved running state will not load ({id} at {Now()}); its files are safe: ask the operator to start it from its disk."
                : $"the box could not be reached ({id} at {Now()}); try again, or tell the operator.";
        message = string.Join(' ', message.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        return message.Length > 300 ? message[..297] + "..." : message;
    }

    private SshCommandOutcome Refuse(string message, int exitCode)
    {
        output.Err($"shellbox: {message}");
        return new(exitCode);
    }

    private static string Now() => DateTime.UtcNow.ToString("u", CultureInfo.InvariantCulture);

    private static string Time(DateTimeOffset time) => time.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
}
