using System.IO.Compression;
using System.Text;

namespace Shellbox.ArmEmulator.Hosts;

/// <summary>
/// The SSH host key a VM's cloud-init custom data gives it (`ssh_keys: ed25519_private: |` with the
/// OpenSSH private key as a block scalar), as cloud-init would install it: the control plane made the
/// key and pinned its public half, so the emulated VM must present exactly that one.
/// </summary>
public static class CloudInitHostKey
{
    /// <summary>The private key (OpenSSH PEM) from base64 custom data (plain or gzipped YAML); null when it carries none.</summary>
    public static string? Ed25519Private(string? customDataBase64)
    {
        if (string.IsNullOrWhiteSpace(customDataBase64))
        {
            return null;
        }

        var bytes = Convert.FromBase64String(customDataBase64);
        if (bytes is [0x1f, 0x8b, ..])
        {
            using var gzip = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
            using var plain = new MemoryStream();
            gzip.CopyTo(plain);
            bytes = plain.ToArray();
        }

        return BlockScalar(Encoding.UTF8.GetString(bytes), "ed25519_private");
    }

    /// <summary>The literal block (`key: |`) under <paramref name="key"/>, with its indentation removed.</summary>
    private static string? BlockScalar(string yaml, string key)
    {
        var lines = yaml.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var trimmed = lines[i].TrimStart();
            if (!trimmed.StartsWith(key + ":", StringComparison.Ordinal) || trimmed[(key.Length + 1)..].Trim() is not ("|" or "|-" or "|+"))
            {
                continue;
            }

            var keyIndent = lines[i].Length - trimmed.Length;
            var block = lines.Skip(i + 1)
                .TakeWhile(l => l.Trim().Length == 0 || l.Length - l.TrimStart().Length > keyIndent)
                .ToList();
            while (block.Count > 0 && block[^1].Trim().Length == 0)
            {
                block.RemoveAt(block.Count - 1);
            }

            var indent = block.Where(l => l.Trim().Length > 0).Select(l => l.Length - l.TrimStart().Length).DefaultIfEmpty(0).Min();
            return block.Count == 0 ? null : string.Join('\n', block.Select(l => l.Length >= indent ? l[indent..] : "")) + "\n";
        }

        return null;
    }
}
