using System.Collections.Concurrent;
using Shellbox.Core.Errors;

namespace Shellbox.Core.Tests.Flows;

/// <summary>One call a fake received: its method name and arguments.</summary>
public sealed record FakeCall(string Name, IReadOnlyList<string> Args)
{
    public override string ToString() => $"{Name}({string.Join(", ", Args)})";
}

/// <summary>
/// Records every call of a fake in order, runs an optional hook (to interleave a concurrent caller at a
/// precise point), and fails the calls it was told to fail with a <see cref="ShellboxException"/>.
/// </summary>
public sealed class CallLog
{
    public const string InjectedFailure = "InjectedFailure";

    private readonly ConcurrentQueue<FakeCall> calls = new();
    private readonly Dictionary<string, int> failures = new(StringComparer.Ordinal);

    /// <summary>Runs on every call after it is recorded and before it fails or takes effect.</summary>
    public Func<FakeCall, Task>? OnCall { get; set; }

    public IReadOnlyList<FakeCall> Calls => calls.ToArray();

    public int Count(string name) => calls.Count(c => c.Name == name);

    public IReadOnlyList<FakeCall> Named(string name) => calls.Where(c => c.Name == name).ToList();

    public void Clear() => calls.Clear();

    /// <summary>The next <paramref name="times"/> calls of <paramref name="name"/> fail; a negative count fails them all.</summary>
    public void Fail(string name, int times = 1)
    {
        lock (failures)
        {
            failures[name] = times;
        }
    }

    public async Task RecordAsync(string name, params string[] args)
    {
        var call = new FakeCall(name, args);
        calls.Enqueue(call);
        if (OnCall is { } hook)
        {
            await hook(call);
        }

        if (TakeFailure(name))
        {
            throw ShellboxException.Service(InjectedFailure, $"{call} failed (injected by the test).");
        }
    }

    private bool TakeFailure(string name)
    {
        lock (failures)
        {
            if (!failures.TryGetValue(name, out var left) || left == 0)
            {
                return false;
            }

            failures[name] = left < 0 ? left : left - 1;
            return true;
        }
    }
}
