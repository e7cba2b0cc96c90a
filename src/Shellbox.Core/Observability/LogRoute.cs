using Microsoft.Extensions.Logging;

namespace Shellbox.Core.Observability;

/// <summary>
/// A logger factory that sends each line to whoever routed the current async flow (<see cref="To"/>): a cmdlet
/// routes its own work's lines to -Verbose and -Debug, and concurrent cmdlets (runspaces) each get their own.
/// Outside a route lines go nowhere. Scopes (correlation=...) lead each line. The callbacks take strings only,
/// so a host in another load context never touches a logging type.
/// </summary>
public sealed class LogRoute : ILoggerFactory
{
    private static readonly AsyncLocal<Sink?> Current = new();
    private static readonly AsyncLocal<ScopeFrame?> Scopes = new();
    private static readonly LogRoute Instance = new();

    /// <summary>
    /// Sends this async flow's lines to <paramref name="verbose"/> (Information and above; a warning or an error
    /// prefixed with its level) and <paramref name="debug"/> (Debug and Trace) until disposed.
    /// </summary>
    public static IDisposable To(Action<string> verbose, Action<string> debug)
    {
        if (ShellboxLog.Factory != Instance)
        {
            ShellboxLog.Factory = Instance;
        }

        var previous = Current.Value;
        Current.Value = new Sink(verbose, debug);
        return new Restore(() => Current.Value = previous);
    }

    public ILogger CreateLogger(string categoryName) => new Logger();

    public void AddProvider(ILoggerProvider provider)
    {
        // One sink by design: the routed flow's callbacks.
    }

    public void Dispose()
    {
    }

    private sealed record Sink(Action<string> Verbose, Action<string> Debug);

    private sealed class Logger : ILogger
    {
        public IDisposable BeginScope<TState>(TState state)
            where TState : notnull
        {
            var frame = new ScopeFrame(state.ToString() ?? "", Scopes.Value);
            Scopes.Value = frame;
            return new Restore(() => Scopes.Value = frame.Parent);
        }

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None && Current.Value is not null;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (Current.Value is not { } sink || logLevel == LogLevel.None)
            {
                return;
            }

            var level = logLevel >= LogLevel.Warning ? $"{logLevel.ToString().ToLowerInvariant()}: " : "";
            var line = $"{level}{ScopeFrame.Render(Scopes.Value)}{formatter(state, exception)}";
            (logLevel <= LogLevel.Debug ? sink.Debug : sink.Verbose)(line);
        }
    }

    private sealed record ScopeFrame(string Text, ScopeFrame? Parent)
    {
        public static string Render(ScopeFrame? frame)
        {
            var texts = new List<string>();
            for (; frame is not null; frame = frame.Parent)
            {
                texts.Insert(0, frame.Text);
            }

            return texts.Count == 0 ? "" : string.Join(' ', texts) + " ";
        }
    }

    private sealed class Restore(Action undo) : IDisposable
    {
        public void Dispose() => undo();
    }
}
