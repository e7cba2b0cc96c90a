using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using Shellbox.Core.Boxes;

namespace Shellbox.PowerShell.Hosting;

/// <summary>Tab completion of box names for the current user (or the -UserId already typed).</summary>
public sealed class BoxNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        try
        {
            var userId = fakeBoundParameters["UserId"] as string ?? UserIds.Default();
            var state = fakeBoundParameters["StateDirectory"] as string;
            var boxes = new BoxCatalog(EngineCache.Get(state)).ListAsync(userId).GetAwaiter().GetResult();
            return boxes
                .Where(b => b.Box.BoxName.StartsWith(wordToComplete ?? "", StringComparison.Ordinal))
                .Select(b => new CompletionResult(b.Box.BoxName, b.Box.BoxName, CompletionResultType.ParameterValue, $"{b.Box.BoxName} ({b.State})"))
                .ToList();
        }
        catch (Exception e)
        {
            // Tab completion offers nothing rather than an error in the middle of a command line.
            Core.Observability.ShellboxLog.Dropped("Shellbox.PowerShell.Completion", "box name completion found no boxes", e, routine: true);
            return [];
        }
    }
}
