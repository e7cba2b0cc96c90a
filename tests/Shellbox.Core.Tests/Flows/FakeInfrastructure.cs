using System.Globalization;
using Shellbox.Core.Model;
using Shellbox.Core.Ports;

namespace Shellbox.Core.Tests.Flows;

/// <summary>
/// In-memory provider: instances, volumes and attachments, every call recorded in <see cref="Log"/>. It
/// refuses what a real provider (or a careful one) would: a second volume on an instance, a volume on two
/// instances, deleting an attached volume, detaching a volume under a running box.
/// </summary>
public sealed class FakeInfrastructure : IInfrastructure
{
    private readonly object gate = new();
    private readonly Dictionary<string, IReadOnlyDictionary<string, string>> instances = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IReadOnlyDictionary<string, string>> volumes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> attached = new(StringComparer.Ordinal); // instance -> volume
    private int ports = 22000;

    public CallLog Log { get; } = new();

    public GoldenSnapshotInfo? Golden { get; set; }

    /// <summary>Whether a box runs on the instance (wired to the runtime fake), to refuse a detach under it.</summary>
    public Func<string, bool> BoxRunsOn { get; set; } = _ => false;

    public string? AttachedTo(string instanceId)
    {
        lock (gate)
        {
            return attached.GetValueOrDefault(instanceId);
        }
    }

    public IReadOnlyDictionary<string, string> Attachments
    {
        get
        {
            lock (gate)
            {
                return new Dictionary<string, string>(attached);
            }
        }
    }

    public bool HasInstance(string id)
    {
        lock (gate)
        {
            return instances.ContainsKey(id);
        }
    }

    public bool HasVolume(string id)
    {
        lock (gate)
        {
            return volumes.ContainsKey(id);
        }
    }

    /// <summary>Makes a resource exist without recording a call (test setup).</summary>
    public void Seed(string role, string id, DateTimeOffset created)
    {
        var tags = new Dictionary<string, string> { [TagKeys.Role] = role, [TagKeys.Created] = created.ToString("O", CultureInfo.InvariantCulture) };
        lock (gate)
        {
            (role == ResourceRoles.Instance ? instances : volumes)[id] = tags;
        }
    }

    /// <summary>Attaches without recording a call (test setup).</summary>
    public void SeedAttachment(string instanceId, string volumeId)
    {
        lock (gate)
        {
            attached[instanceId] = volumeId;
        }
    }

    public async Task<IReadOnlyList<InventoryItem>> ListAsync(string role, CancellationToken cancellationToken = default)
    {
        await Log.RecordAsync(nameof(ListAsync), role);
        lock (gate)
        {
            return (role == ResourceRoles.Instance ? instances : volumes).Select(p => new InventoryItem(role, p.Key, p.Value)).ToList();
        }
    }

    public async Task<GoldenSnapshotInfo?> GetGoldenSnapshotAsync(CancellationToken cancellationToken = default)
    {
        await Log.RecordAsync(nameof(GetGoldenSnapshotAsync));
        return Golden;
    }

    public async Task<GoldenSnapshotInfo> EnsureGoldenSnapshotAsync(IProgress<ShellboxProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        await Log.RecordAsync(nameof(EnsureGoldenSnapshotAsync));
        return Golden ??= new GoldenSnapshotInfo($"{ShellboxLimits.GoldenSnapshotPrefix}-test", "/golden", DateTimeOffset.UnixEpoch);
    }

    public async Task<InstanceInfo> CreateInstanceAsync(string instanceId, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken = default)
    {
        await Log.RecordAsync(nameof(CreateInstanceAsync), instanceId);
        lock (gate)
        {
            instances[instanceId] = tags;
            return new InstanceInfo(instanceId, $"127.0.0.1:{++ports}");
        }
    }

    public async Task DeleteInstanceAsync(string instanceId, CancellationToken cancellationToken = default)
    {
        await Log.RecordAsync(nameof(DeleteInstanceAsync), instanceId);
        lock (gate)
        {
            instances.Remove(instanceId);
            attached.Remove(instanceId);
        }
    }

    public async Task CreateVolumeAsync(string volumeId, GoldenSnapshotInfo golden, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken = default)
    {
        await Log.RecordAsync(nameof(CreateVolumeAsync), volumeId, golden.Version);
        lock (gate)
        {
            volumes[volumeId] = tags;
        }
    }

    public async Task DeleteVolumeAsync(string volumeId, CancellationToken cancellationToken = default)
    {
        await Log.RecordAsync(nameof(DeleteVolumeAsync), volumeId);
        lock (gate)
        {
            if (attached.ContainsValue(volumeId))
            {
                throw new InvalidOperationException($"Volume {volumeId} is deleted while attached.");
            }

            volumes.Remove(volumeId);
        }
    }

    public async Task DeleteBoxVolumeAsync(string volumeId, string userId, string boxName, CancellationToken cancellationToken = default)
    {
        await Log.RecordAsync(nameof(DeleteBoxVolumeAsync), volumeId, userId, boxName);
        lock (gate)
        {
            if (attached.ContainsValue(volumeId))
            {
                throw new InvalidOperationException($"Volume {volumeId} is deleted while attached.");
            }

            volumes.Remove(volumeId);
        }
    }

    public async Task TagVolumeAsync(string volumeId, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken = default)
    {
        await Log.RecordAsync(nameof(TagVolumeAsync), volumeId, tags.GetValueOrDefault(TagKeys.UserId) ?? "", tags.GetValueOrDefault(TagKeys.BoxName) ?? "");
        lock (gate)
        {
            if (volumes.TryGetValue(volumeId, out var current))
            {
                var merged = new Dictionary<string, string>(current);
                foreach (var (key, value) in tags)
                {
                    merged[key] = value;
                }

                volumes[volumeId] = merged;
            }
        }
    }

    public async Task AttachAsync(string instanceId, string volumeId, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken = default)
    {
        await Log.RecordAsync(nameof(AttachAsync), instanceId, volumeId);
        lock (gate)
        {
            if (attached.TryGetValue(instanceId, out var other) && other != volumeId)
            {
                throw new InvalidOperationException($"Instance {instanceId} already has volume {other}; cannot attach {volumeId}.");
            }

            if (attached.FirstOrDefault(p => p.Value == volumeId && p.Key != instanceId) is { Key: not null } elsewhere)
            {
                throw new InvalidOperationException($"Volume {volumeId} is already attached to {elsewhere.Key}.");
            }

            attached[instanceId] = volumeId;
            instances[instanceId] = tags;
        }
    }

    public async Task DetachAsync(string instanceId, string volumeId, CancellationToken cancellationToken = default)
    {
        await Log.RecordAsync(nameof(DetachAsync), instanceId, volumeId);
        lock (gate)
        {
            if (attached.GetValueOrDefault(instanceId) == volumeId)
            {
                if (BoxRunsOn(instanceId))
                {
                    throw new InvalidOperationException($"Volume {volumeId} is detached from {instanceId} while its box runs.");
                }

                attached.Remove(instanceId);
            }
        }
    }
}
