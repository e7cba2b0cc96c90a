namespace Shellbox.Core.Planning;

/// <summary>
/// A box kept running by its keepalive (<see cref="Boxes.KeepaliveFlow"/>) whose time has run out with nobody
/// connected: suspend it and release its instance, as the last disconnect would have. Planned instead of the
/// reclaim of its instance's lease, which expires at the same moment.
/// </summary>
public sealed record EndKeepalive(string Id, string InstanceId, DateTimeOffset Until) : PlanAction(RepairTransition.BoxRole)
{
    public override string Describe() => $"suspend box {Id}: its keepalive ended at {Until:O} with no session";
}
