namespace Shellbox.Core.Ports;

/// <summary>Makes new resource ids and correlation ids; injected so tests get predictable names.</summary>
public interface IIdGenerator
{
    /// <summary>A new id for a resource of <paramref name="role"/>, e.g. "volume-3f9c2a1b".</summary>
    string NewResourceId(string role);

    /// <summary>A short id that ties the log lines and events of one connect or reconcile pass together.</summary>
    string NewCorrelationId();
}

/// <summary>Random ids from a cryptographic source.</summary>
public sealed class RandomIdGenerator : IIdGenerator
{
    public string NewResourceId(string role) => $"{role}-{Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4)).ToLowerInvariant()}";

    public string NewCorrelationId() => Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(6)).ToLowerInvariant();
}
