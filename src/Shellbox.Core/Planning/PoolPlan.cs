using System.Text;

namespace Shellbox.Core.Planning;

/// <summary>
/// What one reconcile pass will do, as plain data: the actions in execution order and short per-role
/// notes (back-off, caps, cooldown) explaining what it chose not to do. Equal plans compare equal.
/// </summary>
public sealed record PoolPlan(IReadOnlyList<PlanAction> Actions, IReadOnlyList<PlanNote> Notes)
{
    public static PoolPlan Empty { get; } = new([], []);

    /// <summary>True when there is nothing to do; a drift report is an action, so it is not a no-op.</summary>
    public bool IsNoop => Actions.Count == 0;

    public IReadOnlyList<string> NotesFor(string role) =>
        Notes.Where(n => n.Role == role).Select(n => n.Text).ToList();

    public bool Equals(PoolPlan? other) =>
        other is not null && Actions.SequenceEqual(other.Actions) && Notes.SequenceEqual(other.Notes);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var action in Actions)
        {
            hash.Add(action);
        }

        foreach (var note in Notes)
        {
            hash.Add(note);
        }

        return hash.ToHashCode();
    }

    /// <summary>One line per action, then the notes: what -WhatIf prints.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        if (IsNoop)
        {
            text.AppendLine("no changes");
        }

        foreach (var action in Actions)
        {
            text.AppendLine(action.Describe());
        }

        foreach (var note in Notes)
        {
            text.AppendLine($"note: {note}");
        }

        return text.ToString().TrimEnd();
    }
}

/// <summary>A short explanation about one role, e.g. "backing off creates until ...".</summary>
public sealed record PlanNote(string Role, string Text)
{
    public override string ToString() => $"{Role}: {Text}";
}
