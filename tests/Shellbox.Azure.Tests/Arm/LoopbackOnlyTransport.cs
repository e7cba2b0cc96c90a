using System.Collections.Concurrent;
using System.Net;
using Azure.Core;
using Azure.Core.Pipeline;

namespace Shellbox.Azure.Tests.Arm;

/// <summary>
/// The tests' HTTP transport for ARM and for the credential: it trusts the emulator's certificate and
/// refuses (and records) any request off loopback, such as an instance-metadata probe of 169.254.169.254
/// or a call to management.azure.com, before a byte is sent.
/// </summary>
internal sealed class LoopbackOnlyTransport(HttpPipelineTransport inner) : HttpPipelineTransport
{
    /// <summary>Every refused destination, process-wide: the tests assert it stays empty.</summary>
    public static ConcurrentQueue<string> Refused { get; } = new();

    public override Request CreateRequest() => inner.CreateRequest();

    public override void Process(HttpMessage message)
    {
        Check(message);
        inner.Process(message);
    }

    public override ValueTask ProcessAsync(HttpMessage message)
    {
        Check(message);
        return inner.ProcessAsync(message);
    }

    private static void Check(HttpMessage message)
    {
        var uri = message.Request.Uri.ToUri();
        if (!IPAddress.TryParse(uri.Host, out var address) || !IPAddress.IsLoopback(address))
        {
            Refused.Enqueue(uri.GetLeftPart(UriPartial.Path));
            throw new InvalidOperationException($"A test tried to reach {uri.Host}, which is not loopback.");
        }
    }
}
