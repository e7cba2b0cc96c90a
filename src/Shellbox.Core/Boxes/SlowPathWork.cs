namespace Shellbox.Core.Boxes;

/// <summary>What a slow path makes before its user has what they asked for, so how long they are told to wait.</summary>
internal enum SlowPathWork
{
    /// <summary>A connect: whatever the box lacks (an instance, a volume), then its first resume.</summary>
    Box,

    /// <summary>A spinup: only a volume from the golden; the box does not run.</summary>
    Volume,
}
