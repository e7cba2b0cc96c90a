using System.Text.Json;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;

namespace Shellbox.Azure.Arm;

/// <summary>Plain JSON calls to ARM through the SDK's pipeline; a non-success answer throws RequestFailedException as the SDK does.</summary>
internal sealed class ArmRest(ArmPipeline arm)
{
    public Uri Endpoint => arm.ArmEndpoint;

    public async Task<JsonDocument> SendAsync(RequestMethod method, string path, string apiVersion, object? body, CancellationToken cancellationToken)
    {
        var pipeline = arm.HttpPipeline;
        using var message = pipeline.CreateMessage();
        var request = message.Request;
        request.Method = method;
        var uri = new RequestUriBuilder();
        uri.Reset(arm.ArmEndpoint);
        uri.AppendPath(path, escape: false);
        uri.AppendQuery("api-version", apiVersion);
        request.Uri = uri;
        request.Headers.Add("Accept", "application/json");
        if (body is not null)
        {
            request.Headers.Add("Content-Type", "application/json");
            request.Content = RequestContent.Create(JsonSerializer.SerializeToUtf8Bytes(body));
        }

        await pipeline.SendAsync(message, cancellationToken).ConfigureAwait(false);
        var response = message.Response;
        if (response.Status is < 200 or >= 300)
        {
            throw new RequestFailedException(response);
        }

        // The pipeline buffers a non-streaming response, so Content is the whole body (possibly empty).
        var content = response.Content.ToMemory();
        return JsonDocument.Parse(content.IsEmpty ? "{}"u8.ToArray() : content);
    }
}
