namespace Shellbox.Core.Boxes;

/// <summary>
/// What a connect tells its user before a wait they would otherwise not understand: the pool had nothing ready,
/// so it is making what the box needs (a volume from the golden, an instance) and this takes about
/// <see cref="AboutSeconds"/>. The cmdlet writes <see cref="ToString"/> as one line on the host's warning stream.
/// </summary>
public sealed record ConnectNotice(int AboutSeconds)
{
    public override string ToString() => $"making your box, about {AboutSeconds} s";
}
