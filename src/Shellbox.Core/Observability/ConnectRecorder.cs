using Microsoft.Extensions.Logging;
using Shellbox.Core.Boxes;

namespace Shellbox.Core.Observability;

/// <summary>What a finished connect leaves behind besides its event: one log line and its latency metrics.</summary>
public static class ConnectRecorder
{
    /// <summary>Records a connect that ended: <paramref name="error"/> null means it succeeded.</summary>
    public static void Finished(ConnectTrace trace, string boxId, Exception? error = null)
    {
        ArgumentNullException.ThrowIfNull(trace);
        ShellboxMetrics.RecordConnect(trace, error is null);
        if (error is null)
        {
            ShellboxLog.For("Shellbox.Core.Connect").LogInformation("connect box={BoxId} {Trace}", boxId, trace);
        }
        else
        {
            ShellboxLog.For("Shellbox.Core.Connect").LogWarning("connect failed box={BoxId} {Trace} error={ErrorType}: {ErrorMessage}", boxId, trace, error.GetType().Name, error.Message);
        }
    }
}
