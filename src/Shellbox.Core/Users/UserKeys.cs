using System.Security.Cryptography;
using Shellbox.Core.Errors;

namespace Shellbox.Core.Users;

/// <summary>
/// A public key is a user: the user id is the first 32 hex digits (lower case) of the SHA-256 of the key
/// blob. The ssh wrapper derives it the same way from what sshd reports (ExposeAuthInfo), so an id the
/// operator computes from a key here is the id that key logs in as.
/// </summary>
public static class UserKeys
{
    /// <summary>
    /// The user id of an OpenSSH public key line ("ssh-ed25519 AAAA... comment", an authorized_keys line
    /// with options in front, or the base64 blob alone).
    /// </summary>
    public static string UserIdOf(string publicKey)
    {
        var blob = BlobOf(publicKey)
            ?? throw ShellboxException.User("PublicKeyInvalid", "That is not an OpenSSH public key: expected a line such as 'ssh-ed25519 AAAA... comment'.");
        return Convert.ToHexString(SHA256.HashData(blob))[..32].ToLowerInvariant();
    }

    /// <summary>The first field that decodes as base64 into a blob that names its own key type, as every OpenSSH key blob does.</summary>
    private static byte[]? BlobOf(string? publicKey)
    {
        foreach (var field in (publicKey ?? "").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            var buffer = new byte[field.Length];
            if (field.Length >= 16 && Convert.TryFromBase64String(field, buffer, out var length) && NamesKeyType(buffer.AsSpan(0, length)))
            {
                return buffer[..length];
            }
        }

        return null;
    }

    /// <summary>An SSH key blob starts with a length-prefixed type name such as "ssh-ed25519".</summary>
    private static bool NamesKeyType(ReadOnlySpan<byte> blob)
    {
        if (blob.Length < 4)
        {
            return false;
        }

        var length = (blob[0] << 24) | (blob[1] << 16) | (blob[2] << 8) | blob[3];
        return length is > 0 and < 64 && blob.Length > 4 + length && blob.Slice(4, length).IndexOfAnyExceptInRange((byte)0x21, (byte)0x7e) < 0;
    }
}
