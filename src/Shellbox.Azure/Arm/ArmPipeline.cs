using Azure.Core;
using Azure.Core.Pipeline;
using Azure.ResourceManager;

namespace Shellbox.Azure.Arm;

/// <summary>
/// The ArmClient's own HTTP pipeline (authentication, retries honouring Retry-After, telemetry) for the
/// calls the typed SDK lacks here: Resource Graph and network interfaces. ArmClient keeps its pipeline
/// internal in Azure.ResourceManager 1.7.0; an ArmResource subclass sees it as a protected member.
/// </summary>
internal sealed class ArmPipeline : ArmResource
{
    public ArmPipeline(ArmClient client, string subscriptionId)
        : base(client, new ResourceIdentifier($"/subscriptions/{subscriptionId}"))
    {
    }

    public HttpPipeline HttpPipeline => Pipeline;

    /// <summary>The ARM endpoint the client was made for (the emulator's in tests).</summary>
    public Uri ArmEndpoint => Endpoint;
}
