using System.Text.Json.Nodes;

namespace Shellbox.ArmEmulator.Arm;

/// <summary>A failure answered with ARM's error envelope {error:{code,message}}
/// (azure-resource-manager-rpc: common-api-details.md, "Error response content").</summary>
internal sealed class ArmException(int status, string code, string message) : Exception(message)
{
    public int Status { get; } = status;
    public string Code { get; } = code;

    public JsonObject ToBody() => Envelope(Code, Message);

    public static JsonObject Envelope(string code, string message) =>
        new() { ["error"] = new JsonObject { ["code"] = code, ["message"] = message } };

    public static ArmException BadRequest(string message, string code = "InvalidParameter") => new(400, code, message);

    public static ArmException NotFound(string message, string code = "ResourceNotFound") => new(404, code, message);

    public static ArmException Conflict(string message, string code = "OperationNotAllowed") => new(409, code, message);
}
