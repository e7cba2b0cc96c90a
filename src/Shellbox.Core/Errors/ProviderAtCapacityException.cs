namespace Shellbox.Core.Errors;

/// <summary>
/// Thrown by <see cref="Ports.IInfrastructure.CreateInstanceAsync"/> or <see cref="Ports.IInfrastructure.CreateVolumeAsync"/>
/// when the provider itself has no room for one more (Local: every instance slot taken), below the pool's own caps.
/// A connect tells its user the same "at capacity" line as at the pool's caps, without knowing the provider.
/// </summary>
/// <param name="errorId">The provider's own reason (e.g. "LocalSlotsFull"), for its operators and logs.</param>
/// <param name="role">The role of what could not be made: instance or volume.</param>
/// <param name="cap">How many of <paramref name="role"/> the provider holds at most.</param>
public sealed class ProviderAtCapacityException(string errorId, string role, int cap, string message)
    : ShellboxException(ShellboxErrorKind.Conflict, errorId, message)
{
    public string Role { get; } = role;

    public int Cap { get; } = cap;
}
