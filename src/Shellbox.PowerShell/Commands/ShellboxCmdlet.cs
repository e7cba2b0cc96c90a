using System.Collections.Concurrent;
using System.Management.Automation;
using Shellbox.Core.Errors;
using Shellbox.Core.Ports;

namespace Shellbox.PowerShell.Commands;

/// <summary>
/// The base of every Shellbox cmdlet: settings binding, the one async bridge (Ctrl+C cancels; output,
/// progress and errors are written on the pipeline thread), and the mapping of library errors to
/// one-sentence ErrorRecords.
/// </summary>
public abstract class ShellboxCmdlet : PSCmdlet
{
    private readonly CancellationTokenSource stopping = new();
    private BlockingCollection<Action>? pipeline;

    /// <summary>The folder holding the Local store, volumes and shellbox.json; default: $SHELLBOX_HOME, else ~/.local/share/shellbox.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? StateDirectory { get; set; }

    protected CancellationToken StopToken => stopping.Token;

    protected override void StopProcessing() => stopping.Cancel();

    /// <summary>The engine for the resolved settings (cached per state directory for the session).</summary>
    protected Core.Engine.ShellboxEngine Engine
    {
        get
        {
            try
            {
                return Hosting.EngineCache.Get(ResolvedStateDirectory());
            }
            catch (ShellboxException e)
            {
                ThrowTerminatingError(ToErrorRecord(e, StateDirectory));
                throw; // not reached: ThrowTerminatingError always throws
            }
        }
    }

    /// <summary>
    /// Runs library work off the pipeline thread and pumps what it writes back onto it, so
    /// WriteObject/WriteProgress/WriteError are always called where PowerShell allows them.
    /// </summary>
    /// <param name="work">The library call; it writes through Emit, Progress and ShouldProcessAsync.</param>
    /// <param name="errorTarget">When set, a library error is written as a non-terminating error about this
    /// target (one bad item in a pipeline); otherwise it terminates the cmdlet.</param>
    protected void Run(Func<CancellationToken, Task> work, object? errorTarget = null)
    {
        var queue = new BlockingCollection<Action>();
        pipeline = queue;

        // The engine's log lines of this work go to -Verbose (Information and above) and -Debug (Debug, Trace).
        using var logRoute = Core.Observability.LogRoute.To(line => Post(() => WriteVerbose(line)), line => Post(() => WriteDebug(line)));
        var task = Task.Run(async () =>
        {
            try
            {
                await work(stopping.Token).ConfigureAwait(false);
            }
            finally
            {
                queue.CompleteAdding();
            }
        });

        var drained = false;
        try
        {
            foreach (var write in queue.GetConsumingEnumerable())
            {
                write();
            }

            drained = true;
        }
        finally
        {
            // A write that threw (-ErrorAction Stop, a stopped pipeline) leaves this loop early: stop the
            // work too, so nothing keeps running (or holding the reconcile lock) with nobody listening.
            // A drained queue means the work has finished; cancelling then would cancel the caller's next step.
            pipeline = null;
            if (!drained)
            {
                stopping.Cancel();
            }

            ((IAsyncResult)task).AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(30));
        }

        try
        {
            task.GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Ctrl+C: PowerShell reports the stop itself.
        }
        catch (ShellboxException e) when (errorTarget is not null)
        {
            WriteError(ToErrorRecord(e, errorTarget));
        }
        catch (ShellboxException e)
        {
            ThrowTerminatingError(ToErrorRecord(e, null));
        }
        catch (Exception e) when (e is not PipelineStoppedException)
        {
            // Not one of ours (I/O, a dependency): still one sentence for the user, never a stack.
            var wrapped = new ShellboxException(ShellboxErrorKind.Internal, "Unexpected", $"{e.GetType().Name}: {OneLine(e.Message)}", e);
            if (errorTarget is not null)
            {
                WriteError(ToErrorRecord(wrapped, errorTarget));
            }
            else
            {
                ThrowTerminatingError(ToErrorRecord(wrapped, null));
            }
        }
    }

    /// <summary>Writes an object from library work, on the pipeline thread.</summary>
    protected void Emit(object item) => Post(() => WriteObject(item));

    protected void EmitVerbose(string message) => Post(() => WriteVerbose(message));

    protected void EmitWarning(string message) => Post(() => WriteWarning(message));

    /// <summary>A non-terminating error for one bad item; the cmdlet goes on with the rest.</summary>
    protected void EmitError(ShellboxException error, object? target) => Post(() => WriteError(ToErrorRecord(error, target)));

    /// <summary>Progress from the library, written as progress records.</summary>
    protected IProgress<ShellboxProgress> Progress(int activityId = 1) =>
        new Hosting.CallThroughProgress<ShellboxProgress>(p => Post(() => WriteProgress(new ProgressRecord(activityId, p.Activity, p.Status) { PercentComplete = Math.Clamp(p.PercentComplete, -1, 100) })));

    /// <summary>Asks ShouldProcess on the pipeline thread from library work.</summary>
    protected Task<bool> ShouldProcessAsync(string target, string action)
    {
        var answer = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        // The three-argument form prints the target as it stands: "What if: create a new volume".
        // If nobody pumps any more (stopped), the question is cancelled rather than left hanging.
        var stopped = stopping.Token.Register(() => answer.TrySetCanceled());
        answer.Task.ContinueWith(_ => stopped.Dispose(), TaskScheduler.Default);
        if (!Post(() => answer.TrySetResult(ShouldProcess(target, $"{action}: {target}?", action))))
        {
            answer.TrySetCanceled();
        }

        return answer.Task;
    }

    protected ErrorRecord ToErrorRecord(ShellboxException error, object? target)
    {
        var category = error.Kind switch
        {
            ShellboxErrorKind.User => ErrorCategory.InvalidArgument,
            ShellboxErrorKind.NotFound => ErrorCategory.ObjectNotFound,
            ShellboxErrorKind.Conflict => ErrorCategory.ResourceBusy,
            ShellboxErrorKind.Service => ErrorCategory.ResourceUnavailable,
            _ => ErrorCategory.NotSpecified,
        };
        var noun = GetType().Name.Replace("Command", "", StringComparison.Ordinal);
        return new ErrorRecord(error, noun + error.ErrorId, category, target);
    }

    private string? ResolvedStateDirectory() =>
        StateDirectory is null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(StateDirectory);

    /// <summary>Queues a write for the pipeline thread; false when no Run is pumping (it ended or stopped).</summary>
    private bool Post(Action write)
    {
        var queue = pipeline;
        if (queue is null)
        {
            return false;
        }

        try
        {
            queue.Add(write);
            return true;
        }
        catch (Exception e) when (e is InvalidOperationException or ObjectDisposedException)
        {
            // The work already finished; nothing is listening any more.
            return false;
        }
    }

    private static string OneLine(string text) => string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
}
