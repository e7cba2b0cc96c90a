using System.Collections.Concurrent;
using Shellbox.Azure.Runtime;

namespace Shellbox.Azure.Tests.Arm;

/// <summary>
/// Stands in for shellbox-agent on the golden-build VM (the real agent is tested by its engineer): it
/// checks what it was asked and writes the box files onto the emulated disk at LUN 0, as the real
/// build-golden leaves a suspended box there. <see cref="FailWith"/> makes the build fail instead.
/// </summary>
internal sealed class GoldenFilesAgent(LoopbackVmHost host) : IInstanceAgent
{
    public static readonly string[] BoxFiles = ["box.qcow2", "ram.img", "device.state", "meta.json"];

    public ConcurrentQueue<(InstanceAddress Instance, IReadOnlyList<string> Arguments)> Calls { get; } = new();

    /// <summary>How many calls find no agent yet (cloud-init still installing it): the shell answers 127.</summary>
    public int NotInstalledFor { get; set; }

    /// <summary>When set, build-golden runs until it is cancelled (an operator's Ctrl+C mid-build).</summary>
    public bool RunsUntilCancelled { get; set; }

    /// <summary>When set, build-golden exits 1 with this on stderr and writes nothing.</summary>
    public string? FailWith { get; set; }

    public async Task<AgentResult> RunAsync(InstanceAddress instance, IReadOnlyList<string> arguments, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var result = Run(instance, arguments);
        if (RunsUntilCancelled)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }

        return await result;
    }

    private Task<AgentResult> Run(InstanceAddress instance, IReadOnlyList<string> arguments)
    {
        Calls.Enqueue((instance, arguments));
        var vm = host.FindByAddress(instance.Host);
        if (vm is null || instance.Port != host.SshPort)
        {
            return Task.FromResult(new AgentResult(255, "", $"ssh: connect to host {instance.Host} port {instance.Port}: Connection refused"));
        }

        if (!vm.Tags.TryGetValue("shellbox:hostkey", out var pinned) || pinned != instance.HostKey)
        {
            return Task.FromResult(new AgentResult(255, "", "Host key verification failed."));
        }

        if (Calls.Count <= NotInstalledFor)
        {
            return Task.FromResult(new AgentResult(127, "", "bash: line 1: shellbox-agent: command not found"));
        }

        if (arguments is not ["build-golden", "--control-key", { Length: > 0 } key, "--volume-gib", { Length: > 0 }])
        {
            return Task.FromResult(new AgentResult(2, "", $"shellbox-agent: unexpected arguments: {string.Join(' ', arguments)}"));
        }

        if (FailWith is { } failure)
        {
            return Task.FromResult(new AgentResult(1, "", $"building...\n{failure}\n"));
        }

        var folder = host.Lun0Folder(vm.Name);
        if (folder is null)
        {
            return Task.FromResult(new AgentResult(1, "", "shellbox-agent: no data disk at /dev/disk/azure/scsi1/lun0"));
        }

        foreach (var file in BoxFiles)
        {
            File.WriteAllText(Path.Combine(folder, file), file == "meta.json" ? $"{{\"controlKey\":\"{key}\"}}" : $"golden {file}");
        }

        return Task.FromResult(new AgentResult(0, "suspended", ""));
    }
}
