using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Shellbox.Core.Observability;

/// <summary>
/// Where the engine's log lines go (Microsoft.Extensions.Logging). The host sets <see cref="Factory"/> once:
/// the PowerShell module routes lines to -Verbose and -Debug; nothing set, they go nowhere. Static, so the
/// providers' adapters log a dropped error without an engine in hand. Lines are structured key=value
/// (message templates whose holes are named like the keys) and never carry a secret, a key or a connection string.
/// </summary>
public static class ShellboxLog
{
    private static ILoggerFactory factory = NullLoggerFactory.Instance;

    public static ILoggerFactory Factory
    {
        get => factory;
        set => factory = value ?? NullLoggerFactory.Instance;
    }

    /// <summary>The logger of one category (the type's full name).</summary>
    public static ILogger For<T>() => Factory.CreateLogger<T>();

    /// <summary>The logger of one named category ("Shellbox.Local.Store", ...).</summary>
    public static ILogger For(string category) => Factory.CreateLogger(category);

    /// <summary>
    /// One line for an error a caller handles and goes on from (a retry, a fallback, a cleanup that may fail):
    /// "&lt;what&gt; error=&lt;type&gt;: &lt;message&gt;", at Debug when it is routine, else Warning. String-typed, so code in
    /// another load context (the cmdlets) can call it without a logging type.
    /// </summary>
    public static void Dropped(string category, string what, Exception error, bool routine = false)
    {
        ArgumentNullException.ThrowIfNull(error);
        For(category).Log(routine ? LogLevel.Debug : LogLevel.Warning, "{What} error={ErrorType}: {ErrorMessage}", what, error.GetType().Name, error.Message);
    }

    /// <summary>A scope that puts correlation=&lt;id&gt; on every line logged under it (a connect, a reconcile pass).</summary>
    public static IDisposable? Correlation(string correlationId) =>
        Factory.CreateLogger("Shellbox").BeginScope(new CorrelationScope(correlationId));

    private sealed record CorrelationScope(string CorrelationId)
    {
        public override string ToString() => $"correlation={CorrelationId}";
    }
}
