using System.Globalization;
using Shellbox.Core.Model;

namespace Shellbox.Core.Engine;

/// <summary>The tags that mirror a store row on the provider's resource (seed 000 tag keys).</summary>
public static class ResourceTags
{
    public static IReadOnlyDictionary<string, string> For(InstanceRecord instance, string? userId = null, string? boxName = null) =>
        Build(ResourceRoles.Instance, instance.Status, instance.Created, instance.LastUsed, userId, boxName, golden: null);

    public static IReadOnlyDictionary<string, string> For(VolumeRecord volume) =>
        Build(ResourceRoles.Volume, volume.Status, volume.Created, volume.LastUsed, volume.UserId, volume.BoxName, volume.Golden);

    private static Dictionary<string, string> Build(string role, string status, DateTimeOffset created, DateTimeOffset lastUsed, string? userId, string? boxName, string? golden)
    {
        var tags = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [TagKeys.Role] = role,
            [TagKeys.Status] = status,
            [TagKeys.Created] = created.ToString("O", CultureInfo.InvariantCulture),
            [TagKeys.LastUsed] = lastUsed.ToString("O", CultureInfo.InvariantCulture),
        };
        if (userId is not null)
        {
            tags[TagKeys.UserId] = userId;
        }

        if (boxName is not null)
        {
            tags[TagKeys.BoxName] = boxName;
        }

        if (golden is not null)
        {
            tags[TagKeys.Golden] = golden;
        }

        return tags;
    }
}
