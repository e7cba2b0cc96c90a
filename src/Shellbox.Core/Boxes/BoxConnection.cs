using Shellbox.Core.Model;
using Shellbox.Core.Ports;

namespace Shellbox.Core.Boxes;

/// <summary>A connected session of a box: where its SSH answers, and how the connect went.</summary>
public sealed record BoxConnection(BoxRecord Box, BoxEndpoint Endpoint, string SessionId, ConnectTrace Trace, bool Created);
