using Shellbox.Core.Model;
using Shellbox.Core.Ports;

namespace Shellbox.Core.Boxes;

/// <summary>A connected session of a box: where its SSH answers, and how the connect went.</summary>
public sealed record BoxConnection(BoxRecord Box, BoxEndpoint Endpoint, string SessionId, ConnectTrace Trace, bool Created)
{
    /// <summary>
    /// A box that existed was started from its disk (its state was lost, or an operator asked): its running programs are
    /// gone, which its user is told. A new box booted from its clone's disk had none to lose.
    /// </summary>
    public bool LostRunningPrograms => Trace.ColdBooted && !Created;
}
