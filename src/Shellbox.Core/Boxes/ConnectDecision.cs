namespace Shellbox.Core.Boxes;

/// <summary>
/// What one pass of a connect's decision ended with: the connection, or a reason to read the box and the pool
/// again and decide anew (a rival moved a row, the pool just freed something). A named result, not a thrown
/// conflict: only a conditional write that really lost a race still throws.
/// </summary>
internal sealed record ConnectDecision(BoxConnection? Connection, string? AgainBecause)
{
    public static ConnectDecision Connected(BoxConnection connection) => new(connection, null);

    public static ConnectDecision Again(string because) => new(null, because);
}
