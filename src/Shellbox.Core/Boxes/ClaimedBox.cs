using Shellbox.Core.Model;

namespace Shellbox.Core.Boxes;

/// <summary>What a connect claimed in one conditional write: the instance, the volume and the box bound together.</summary>
public sealed record ClaimedBox(InstanceRecord Instance, VolumeRecord Volume, BoxRecord Box);
