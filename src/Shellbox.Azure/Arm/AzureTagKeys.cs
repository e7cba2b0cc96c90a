namespace Shellbox.Azure.Arm;

/// <summary>Tags only the Azure provider writes, beside the seed's (Core's TagKeys).</summary>
internal static class AzureTagKeys
{
    /// <summary>The instance's own SSH host public key: the VM mirrors it, so a repeated create returns the same pinned key.</summary>
    public const string HostKey = "shellbox:hostkey";

    /// <summary>A temporary golden-build VM or disk; the value is when the build started (round-trip "O").</summary>
    public const string GoldenBuild = "shellbox:golden-build";
}
