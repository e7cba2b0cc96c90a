using System.Text.RegularExpressions;

namespace Shellbox.ArmEmulator;

/// <summary>Makes matching requests fail the way ARM fails under load: 429 with Retry-After, 5xx, 409.</summary>
public sealed class FaultInjector
{
    private readonly List<FaultRule> _rules = [];
    private readonly object _gate = new();

    /// <summary>The next <paramref name="times"/> requests whose method matches (null = any) and whose path
    /// matches <paramref name="pathPattern"/> (a regex, case-insensitive) are answered with <paramref name="status"/>
    /// and an ARM error body; the request is not carried out.</summary>
    public FaultRule Add(string? method, string pathPattern, int status, int times = 1, TimeSpan? retryAfter = null, string? code = null)
    {
        var rule = new FaultRule(method?.ToUpperInvariant(), new Regex(pathPattern, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant),
            status, times, retryAfter, code ?? DefaultCode(status));
        lock (_gate) _rules.Add(rule);
        return rule;
    }

    /// <summary>429 TooManyRequests with Retry-After (whole seconds, as ARM sends it).</summary>
    public FaultRule Throttle(string? method, string pathPattern, int times = 1, TimeSpan? retryAfter = null) =>
        Add(method, pathPattern, 429, times, retryAfter ?? TimeSpan.FromSeconds(1));

    public void Clear()
    {
        lock (_gate) _rules.Clear();
    }

    internal FaultRule? TakeMatch(string method, string path)
    {
        lock (_gate)
        {
            foreach (var rule in _rules)
            {
                if (rule.Remaining > 0 && (rule.Method is null || rule.Method == method) && rule.PathPattern.IsMatch(path))
                {
                    rule.Remaining--;
                    rule.Fired++;
                    return rule;
                }
            }
            return null;
        }
    }

    private static string DefaultCode(int status) => status switch
    {
        429 => "TooManyRequests",
        409 => "Conflict",
        500 => "InternalServerError",
        502 => "BadGateway",
        503 => "ServiceUnavailable",
        504 => "GatewayTimeout",
        _ => "InjectedFault",
    };
}

/// <summary>One injected fault; <see cref="Fired"/> counts the requests it answered.</summary>
public sealed class FaultRule(string? method, Regex pathPattern, int status, int times, TimeSpan? retryAfter, string code)
{
    public string? Method { get; } = method;
    public Regex PathPattern { get; } = pathPattern;
    public int Status { get; } = status;
    public TimeSpan? RetryAfter { get; } = retryAfter;
    public string Code { get; } = code;
    public int Remaining { get; internal set; } = times;
    public int Fired { get; internal set; }
}
