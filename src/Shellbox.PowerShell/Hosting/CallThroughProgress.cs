namespace Shellbox.PowerShell.Hosting;

/// <summary>
/// An <see cref="IProgress{T}"/> that calls straight through on the reporting thread. Progress&lt;T&gt; posts to a captured
/// synchronization context; a cmdlet's queue (or a front-door client's socket) already carries each report where it
/// goes, in order.
/// </summary>
internal sealed class CallThroughProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
