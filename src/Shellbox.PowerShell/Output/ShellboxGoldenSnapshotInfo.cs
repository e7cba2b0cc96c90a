namespace Shellbox.PowerShell.Output;

/// <summary>A golden snapshot: its version (prefix + content hash), where it lives, when it was made.</summary>
public sealed class ShellboxGoldenSnapshotInfo(string version, string location, DateTimeOffset created)
{
    public string Version { get; } = version;

    public string Location { get; } = location;

    public DateTimeOffset Created { get; } = created;
}
