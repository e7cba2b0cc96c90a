using System.Text.Json;

namespace Shellbox.Core.Settings;

/// <summary>
/// The provider sections of shellbox.json ("local", "azure", ...) as raw JSON, by lower-case name. Core
/// carries them and never reads them: each provider owns its settings class and their validation.
/// Compared by value, so an edited section rebuilds the engine and an unchanged one does not.
/// </summary>
public sealed class ProviderSections : IEquatable<ProviderSections>
{
    private readonly SortedDictionary<string, string> sections;

    public ProviderSections(IEnumerable<KeyValuePair<string, string>>? sections = null) =>
        this.sections = new SortedDictionary<string, string>(
            (sections ?? []).ToDictionary(s => s.Key.ToLowerInvariant(), s => s.Value),
            StringComparer.Ordinal);

    public static ProviderSections Empty { get; } = new();

    /// <summary>The section named <paramref name="name"/> as JSON text, or null when the file has none.</summary>
    public string? this[string name] => sections.GetValueOrDefault(name.ToLowerInvariant());

    /// <summary>A copy with <paramref name="name"/> set to <paramref name="value"/> serialized as JSON (camelCase).</summary>
    public ProviderSections With<T>(string name, T value) =>
        new(sections.Where(s => s.Key != name.ToLowerInvariant())
            .Append(new(name, JsonSerializer.Serialize(value, new JsonSerializerOptions(JsonSerializerDefaults.Web)))));

    public bool Equals(ProviderSections? other) => other is not null && sections.SequenceEqual(other.sections);

    public override bool Equals(object? obj) => Equals(obj as ProviderSections);

    public override int GetHashCode() => sections.Aggregate(0, (h, s) => HashCode.Combine(h, s.Key, s.Value));
}
