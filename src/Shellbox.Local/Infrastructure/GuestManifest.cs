using System.Text.Json;
using Shellbox.Local.Qemu;

namespace Shellbox.Local.Infrastructure;

/// <summary>
/// What the golden builder needs from build-golden.sh's manifest.json: the kernel command line and, for a
/// guest that keeps settling after its SSH server is up, the console line that says it is done; and whether
/// the guest runs the QEMU guest agent (its boxes then get the agent's port).
/// </summary>
internal sealed record GuestManifest(string Append, string? ReadyMarker, bool GuestAgent = false)
{
    public static GuestManifest Read(string manifest)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(manifest));
            var root = document.RootElement;
            return new GuestManifest(
                root.TryGetProperty("append", out var append) && append.GetString() is { Length: > 0 } value ? value : QemuMachine.DefaultKernelAppend,
                root.TryGetProperty("readyMarker", out var marker) && marker.GetString() is { Length: > 0 } line ? line : null,
                root.TryGetProperty("guestAgent", out var agent) && agent.ValueKind == JsonValueKind.True);
        }
        catch (Exception e) when (e is IOException or JsonException or InvalidOperationException)
        {
            Core.Observability.ShellboxLog.Dropped("Shellbox.Local.Golden", $"manifest={manifest} unreadable, the default kernel command line is used", e);
            return new GuestManifest(QemuMachine.DefaultKernelAppend, null);
        }
    }
}
