using System.Text.Json.Serialization;

namespace Shellbox.Core.Lifecycle;

/// <summary>
/// The multi-row transitions of the lifecycle, one verb per act (ARCHITECTURE.md, "Lifecycle"). A row in the
/// middle of one carries a <see cref="TransitionMark"/> naming it. Stored by name: never rename a member.
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<TransitionAct>))]
public enum TransitionAct
{
    /// <summary>A connect binding a box to an instance and volume (its claim is the instance lease).</summary>
    Bind,

    /// <summary>The last session out (or a reclaim) suspending a box and detaching it from its instance.</summary>
    Release,

    /// <summary>Breaking a ready pair into a loose instance and a loose volume.</summary>
    Unpair,

    /// <summary>Attaching a loose volume to a loose instance and resuming its box: a ready pair.</summary>
    Pair,

    /// <summary>Taking back what a dead holder left.</summary>
    Reclaim,

    /// <summary>Deleting a box and its volume on its owner's request.</summary>
    Remove,

    /// <summary>Making a new instance or volume in the provider.</summary>
    Create,

    /// <summary>Deleting a free instance or volume from the provider (scale-down, reset).</summary>
    Delete,

    /// <summary>Copying a box (disk, RAM and device state) into a new box and volume of the same user.</summary>
    Duplicate,
}
