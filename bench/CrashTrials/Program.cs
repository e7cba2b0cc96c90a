using System.Globalization;
using Shellbox.Core.Lifecycle;
using Shellbox.CrashTrials;

// CrashTrials: kill -9 the process running connect, disconnect, reconcile, remove or duplicate at each lifecycle step and
// check that ONE reconcile recovers (issue 9 part 2). On this machine, with real QEMU boxes.
//   trials [--per-point N] [--points a,b] [--cache DIR] [--base-port N] [--recover-after MINUTES]
//       N trials per point (default 20), prints per point: trials, recovered after one reconcile, leaked,
//       stuck, double claims, data intact. Exit code 1 when any trial did not recover. --recover-after 0 runs
//       the reconcile before any mark expires: the checks then show what a crash leaves (they must fail).
//   child --state DIR --base-port N --cache DIR --act connect|disconnect|reconcile|remove|duplicate [--box NAME] [--session ID]
//       one act, run by a trial with SHELLBOX_CRASH_AT set (the process the trial kills).
var options = args.Skip(1).Chunk(2).Where(p => p.Length == 2 && p[0].StartsWith("--", StringComparison.Ordinal))
    .ToDictionary(p => p[0][2..], p => p[1], StringComparer.Ordinal);
string Option(string name, string fallback) => options.TryGetValue(name, out var value) ? value : fallback;
var cache = Option("cache", Path.Combine(RepositoryRoot(), ".cache"));
var basePort = int.Parse(Option("base-port", "22700"), CultureInfo.InvariantCulture);

switch (args.FirstOrDefault())
{
    case "child":
        return await ChildAct.RunAsync(new TrialSetup(options["state"], basePort, cache), options["act"], options.GetValueOrDefault("box"), options.GetValueOrDefault("session"));
    case "trials":
        var perPoint = int.Parse(Option("per-point", "20"), CultureInfo.InvariantCulture);
        var recoverAfter = TimeSpan.FromMinutes(double.Parse(Option("recover-after", CrashTrial.RecoveryShift.TotalMinutes.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture));
        var points = Option("points", string.Join(',', CrashPoints.All)).Split(',', StringSplitOptions.RemoveEmptyEntries);
        var outcomes = new List<TrialOutcome>();
        foreach (var point in points)
        {
            for (var trial = 1; trial <= perPoint; trial++)
            {
                var state = Directory.CreateTempSubdirectory("shellbox-crash-").FullName;
                try
                {
                    var outcome = await new CrashTrial(new TrialSetup(state, basePort, cache), point, recoverAfter).RunAsync(typeof(CrashTrial).Assembly.Location);
                    outcomes.Add(outcome);
                    Console.Error.WriteLine($"  trial {trial}/{perPoint} {outcome}");
                }
                catch (Exception e)
                {
                    outcomes.Add(new TrialOutcome(point, false, 0, 0, 0, false, [$"trial failed: {e.GetType().Name}: {e.Message}"]));
                    Console.Error.WriteLine($"  trial {trial}/{perPoint} {point}: failed: {e}");
                }
                finally
                {
                    await CrashTrial.CleanUpAsync(state);
                }
            }
        }

        Console.WriteLine($"{"point",-16} {"trials",6} {"recovered",9} {"leaked",6} {"stuck",5} {"double",6} {"intact",6} {"serves",6}");
        foreach (var group in outcomes.GroupBy(o => o.Point))
        {
            Console.WriteLine($"{group.Key,-16} {group.Count(),6} {group.Count(o => o.Recovered),9} {group.Sum(o => o.Leaked),6} {group.Sum(o => o.Stuck),5} {group.Sum(o => o.DoubleClaims),6} {group.Count(o => o.DataIntact),6} {group.Count(o => o.Serves),6}");
        }

        return outcomes.All(o => o.Recovered) ? 0 : 1;
    default:
        Console.Error.WriteLine("usage: CrashTrials trials [--per-point N] [--points a,b] | child --state DIR --act ACT ...");
        return 2;
}

static string RepositoryRoot()
{
    for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
    {
        if (File.Exists(Path.Combine(folder.FullName, "Shellbox.PowerShell.sln")))
        {
            return folder.FullName;
        }
    }

    return Directory.GetCurrentDirectory();
}
