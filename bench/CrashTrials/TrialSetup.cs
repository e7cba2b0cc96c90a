using Shellbox.Core.Engine;
using Shellbox.Core.Model;
using Shellbox.Core.Settings;
using Shellbox.Local;

namespace Shellbox.CrashTrials;

/// <summary>
/// The one configuration a trial's parent and its child share: a small pool (at most two slots), no linger, the
/// golden cache, and the state folder of the trial.
/// </summary>
public sealed record TrialSetup(string StateDirectory, int BasePort, string CacheDirectory)
{
    public const int Slots = 2;
    public const string User = "crash";

    public static PoolConfig Pool { get; } = new()
    {
        Name = "Crash",
        MinFreeInstances = 1,
        MaxFreeInstances = 2,
        MaxTotalInstances = Slots,
        MinFreeVolumes = 1,
        MaxFreeVolumes = 2,
        MaxTotalVolumes = 4,
        CheckInterval = TimeSpan.FromSeconds(30),
        ScaleDownCooldown = TimeSpan.FromMinutes(2),
    };

    public ShellboxSettings Settings => new ShellboxSettings
    {
        Provider = ShellboxSettings.LocalProvider,
        StateDirectory = StateDirectory,
        Pool = Pool,
    }.WithLocal(new LocalProviderSettings { Guest = GuestKinds.Minimal, MaxSlots = Slots, BasePort = BasePort, MemoryMiB = 256 });

    public LocalProviderOptions Options => new()
    {
        GoldenDirectory = Path.Combine(CacheDirectory, "golden"),
        KeyDirectory = Path.Combine(CacheDirectory, "keys"),
    };

    public ShellboxEngine Engine(TimeProvider? time = null) => LocalProvider.CreateEngine(Settings, time, Options);

    /// <summary>The arguments that make a child process build this setup.</summary>
    public IReadOnlyList<string> ChildArguments => ["--state", StateDirectory, "--base-port", BasePort.ToString(System.Globalization.CultureInfo.InvariantCulture), "--cache", CacheDirectory];
}
