namespace Shellbox.ArmEmulator.Graph;

/// <summary>The KQL subset the provider's Resource Graph queries use (seed 000, "Key Queries").</summary>
internal sealed record KqlQuery(string Table, IReadOnlyList<KqlStage> Stages);

internal abstract record KqlStage;

/// <summary>where a =~ 'x' and b == 'y' ...</summary>
internal sealed record WhereStage(IReadOnlyList<KqlComparison> Conditions) : KqlStage;

internal sealed record KqlComparison(KqlExpr Left, string Operator, string Literal);

/// <summary>project name, id, alias=todatetime(tags['k'])</summary>
internal sealed record ProjectStage(IReadOnlyList<KqlColumn> Columns) : KqlStage;

internal sealed record KqlColumn(string Name, KqlExpr Expr);

/// <summary>order by x asc|desc (desc is Kusto's default), nulls first when ascending, last when descending.</summary>
internal sealed record OrderStage(KqlExpr Key, bool Descending) : KqlStage;

internal sealed record TakeStage(int Count) : KqlStage;

/// <summary>summarize [name=]count() [by [name=]expr]: one row per distinct value, the count column named count_ by default.</summary>
internal sealed record SummarizeStage(string CountColumn, KqlColumn? By) : KqlStage;

internal abstract record KqlExpr
{
    /// <summary>The column name Kusto gives an unnamed expression: tags['shellbox:status'] and
    /// tostring(tags['shellbox:status']) become tags_shellbox_status (characters outside [A-Za-z0-9_] become '_').</summary>
    public abstract string DefaultName { get; }
}

internal sealed record ColumnExpr(string Name) : KqlExpr
{
    public override string DefaultName => Name;
}

/// <summary>target['key'] or target.key on a dynamic value (tags, properties).</summary>
internal sealed record MemberExpr(KqlExpr Target, string Key) : KqlExpr
{
    public override string DefaultName =>
        Target.DefaultName + "_" + new string(Key.Select(c => char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_').ToArray());
}

/// <summary>tostring(x), todatetime(x), tolower(x), toupper(x).</summary>
internal sealed record CallExpr(string Function, KqlExpr Argument) : KqlExpr
{
    public override string DefaultName => Argument.DefaultName;
}
