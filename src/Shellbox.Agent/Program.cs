using System.Text.Json;
using System.Text.Json.Serialization;
using Shellbox.Agent;
using Shellbox.Core.Boxes;
using Shellbox.Core.Errors;

// shellbox-agent: the box on this instance, for the control plane (over SSH). One JSON object on stdout;
// on failure one line "ErrorId: message" on stderr and an exit code per error kind (AgentExitCodes).
const string Usage = "usage: shellbox-agent resume <volumeId> [--copy-of <sourceVolumeId>] [--box-name <name>] | suspend <volumeId> [--in-place] | cold-boot|status <volumeId> | pin-host-key <volumeId> <hostKey> | hostname <volumeId> <name> | hold-for-copy <volumeId> <copyVolumeId> [--seconds <n>] | release-copy <volumeId> <copyVolumeId> [--abandon] | build-golden --control-key <public key> [--volume-gib <size>]";

var json = new JsonSerializerOptions(JsonSerializerDefaults.Web)
{
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // keys stay readable: "+" not \u002B
};
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};

// The control plane's deadline closes the SSH channel: sshd then sends SIGHUP (no pty) or SIGTERM.
using var hangup = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGHUP, c =>
{
    c.Cancel = true;
    stop.Cancel();
});
using var terminate = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c =>
{
    c.Cancel = true;
    stop.Cancel();
});

try
{
    var environment = AgentEnvironment.Read();
    var time = TimeProvider.System;
    object? output = args switch
    {
        ["resume", var volume, .. var rest] when AgentOptions.Parse(rest, "--copy-of", "--box-name") is { } options =>
            await new BoxCommands(environment, time).ResumeAsync(volume, stop.Token, options.GetValueOrDefault("--copy-of"), BoxName(options.GetValueOrDefault("--box-name"))),
        ["suspend", var volume] => await new BoxCommands(environment, time).SuspendAsync(volume, keepProcess: false, stop.Token),
        ["suspend", var volume, "--in-place"] => await new BoxCommands(environment, time).SuspendAsync(volume, keepProcess: true, stop.Token),
        ["cold-boot", var volume] => await new BoxCommands(environment, time).ColdBootAsync(volume, stop.Token),
        ["status", var volume] => new BoxCommands(environment, time).Status(volume),
        ["pin-host-key", var volume, var hostKey] => await new BoxCommands(environment, time).PinHostKeyAsync(volume, hostKey, stop.Token),
        ["hold-for-copy", var volume, var copy, .. var rest] when AgentOptions.Parse(rest, "--seconds") is { } options =>
            await new CopyHold(environment, time).HoldAsync(volume, copy, HoldSeconds(options.GetValueOrDefault("--seconds")), stop.Token),
        ["release-copy", var volume, var copy] => new CopyHold(environment, time).Release(volume, copy, abandon: false),
        ["release-copy", var volume, var copy, "--abandon"] => new CopyHold(environment, time).Release(volume, copy, abandon: true),
        ["hostname", var volume, var name] => await new BoxCommands(environment, time).RecordHostnameAsync(volume, BoxNames.Validate(name), stop.Token),
        ["build-golden", .. var rest] when AgentOptions.Parse(rest, "--control-key", "--volume-gib") is { } options && options.TryGetValue("--control-key", out var key) =>
            await new GoldenCommand(environment with { DiskGiB = GuestDisk.SizeGiB(options.GetValueOrDefault("--volume-gib"), environment) }, time).RunAsync(key, stop.Token),
        _ => null,
    };
    if (output is null)
    {
        Console.Error.WriteLine(Usage);
        return AgentExitCodes.Usage;
    }

    Console.Out.WriteLine(JsonSerializer.Serialize(output, output.GetType(), json));
    return AgentExitCodes.Ok;
}
catch (ShellboxException e)
{
    Console.Error.WriteLine($"{e.ErrorId}: {OneLine(e.Message)}");
    return AgentExitCodes.For(e.Kind);
}
catch (OperationCanceledException) when (stop.IsCancellationRequested)
{
    Console.Error.WriteLine("AgentCancelled: the agent was stopped before it finished.");
    return AgentExitCodes.Service;
}
catch (Exception e)
{
    Console.Error.WriteLine($"AgentFailed: {OneLine($"{e.GetType().Name}: {e.Message}")}");
    return AgentExitCodes.Internal;
}

// A box name is already a hostname label: the same rule as everywhere else, one line when it is not one.
static string? BoxName(string? name) => name is null ? null : BoxNames.Validate(name);

// How long a box may be held still for a copy of its disk: the copy's ARM call, with room to spare.
static TimeSpan HoldSeconds(string? seconds) =>
    seconds is null ? TimeSpan.FromSeconds(120)
    : int.TryParse(seconds, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 600 ? TimeSpan.FromSeconds(n)
    : throw ShellboxException.User("HoldInvalid", $"--seconds must be a whole number from 1 to 600, not '{seconds}'.");

static string OneLine(string text) => string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
