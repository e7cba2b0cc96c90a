using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Org.BouncyCastle.Crypto.Parameters;

namespace Shellbox.Azure.Arm;

/// <summary>
/// An instance's own SSH host key, made here so the control plane knows it before the VM boots and
/// can pin it (no trust on first use). .NET has no Ed25519, so the curve math is BouncyCastle's (it
/// comes with SSH.NET); the OpenSSH encodings are written here.
/// </summary>
internal sealed record InstanceHostKey(string PrivateKeyOpenSsh, string PublicKeyOpenSsh)
{
    private const string KeyType = "ssh-ed25519";

    public static InstanceHostKey Generate(string comment)
    {
        var seed = RandomNumberGenerator.GetBytes(32);
        var publicKey = new Ed25519PrivateKeyParameters(seed, 0).GeneratePublicKey().GetEncoded();
        var publicBlob = PublicBlob(publicKey);
        return new InstanceHostKey(PrivatePem(seed, publicKey, publicBlob, comment), $"{KeyType} {Convert.ToBase64String(publicBlob)}");
    }

    private static byte[] PublicBlob(byte[] publicKey)
    {
        using var blob = new MemoryStream();
        WriteString(blob, Encoding.ASCII.GetBytes(KeyType));
        WriteString(blob, publicKey);
        return blob.ToArray();
    }

    /// <summary>The unencrypted "openssh-key-v1" container (PROTOCOL.key in OpenSSH), PEM-armoured.</summary>
    private static string PrivatePem(byte[] seed, byte[] publicKey, byte[] publicBlob, string comment)
    {
        using var secret = new MemoryStream();
        var check = RandomNumberGenerator.GetBytes(4);
        secret.Write(check);
        secret.Write(check);
        WriteString(secret, Encoding.ASCII.GetBytes(KeyType));
        WriteString(secret, publicKey);
        WriteString(secret, [.. seed, .. publicKey]);
        WriteString(secret, Encoding.UTF8.GetBytes(comment));
        for (byte pad = 1; secret.Length % 8 != 0; pad++)
        {
            secret.WriteByte(pad);
        }

        using var container = new MemoryStream();
        container.Write("openssh-key-v1\0"u8);
        WriteString(container, "none"u8.ToArray());
        WriteString(container, "none"u8.ToArray());
        WriteString(container, []);
        WriteUInt32(container, 1);
        WriteString(container, publicBlob);
        WriteString(container, secret.ToArray());
        CryptographicOperations.ZeroMemory(secret.GetBuffer());

        var base64 = Convert.ToBase64String(container.ToArray());
        var pem = new StringBuilder("-----BEGIN OPENSSH PRIVATE KEY-----\n");
        for (var i = 0; i < base64.Length; i += 70)
        {
            pem.Append(base64, i, Math.Min(70, base64.Length - i)).Append('\n');
        }

        return pem.Append("-----END OPENSSH PRIVATE KEY-----\n").ToString();
    }

    private static void WriteString(Stream stream, byte[] value)
    {
        WriteUInt32(stream, (uint)value.Length);
        stream.Write(value);
    }

    private static void WriteUInt32(Stream stream, uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        stream.Write(bytes);
    }
}
