using Shellbox.Core.Boxes;
using Shellbox.Core.Engine;

namespace Shellbox.CrashTrials;

/// <summary>
/// What a trial's child process runs: one act of the engine (connect, disconnect, reconcile, remove, duplicate) with the
/// real clock, in a process the armed crash point kills. Reaching the end means the point was never reached.
/// </summary>
public static class ChildAct
{
    public const string Connect = "connect";
    public const string Disconnect = "disconnect";
    public const string Reconcile = "reconcile";
    public const string Remove = "remove";
    public const string Duplicate = "duplicate";

    /// <summary>The name a duplicate act gives its copy.</summary>
    public const string CopyName = "dev4";

    public static async Task<int> RunAsync(TrialSetup setup, string act, string? box, string? session)
    {
        await using var engine = setup.Engine();
        switch (act)
        {
            case Connect:
                await new ConnectFlow(engine).ConnectAsync(TrialSetup.User, box!);
                break;
            case Disconnect:
                await new DisconnectFlow(engine).DisconnectAsync(Shellbox.Core.Model.BoxRecord.IdFor(TrialSetup.User, box!), session!);
                break;
            case Reconcile:
                await new PoolReconciler(engine).ReconcileAsync();
                break;
            case Remove:
                await new BoxCatalog(engine).RemoveAsync(TrialSetup.User, box!);
                break;
            case Duplicate:
                await new DuplicateFlow(engine).DuplicateAsync(TrialSetup.User, box!, CopyName);
                break;
            default:
                Console.Error.WriteLine($"unknown act '{act}'");
                return 2;
        }

        return 0;
    }
}
