using System.Globalization;
using System.Text;

namespace Shellbox.ArmEmulator.Graph;

/// <summary>A query the interpreter cannot read; answered as 400 with the problem named.</summary>
internal sealed class KqlException(string message) : Exception(message);

/// <summary>Parses the KQL subset of <see cref="KqlQuery"/>; anything else is a <see cref="KqlException"/>
/// that names the unsupported piece and where it is.</summary>
internal sealed class KqlParser
{
    private static readonly string[] Functions = ["tostring", "todatetime", "tolower", "toupper"];
    private static readonly string[] Comparisons = ["=~", "!~", "==", "!="];

    private readonly List<Token> _tokens;
    private int _position;

    private KqlParser(List<Token> tokens) => _tokens = tokens;

    public static KqlQuery Parse(string text)
    {
        var parser = new KqlParser(Tokenize(text));
        return parser.ParseQuery();
    }

    private enum Kind { Identifier, String, Number, Symbol, End }

    private sealed record Token(Kind Kind, string Text, int At);

    private KqlQuery ParseQuery()
    {
        var table = Expect(Kind.Identifier, "a table name");
        if (!string.Equals(table.Text, "Resources", StringComparison.OrdinalIgnoreCase))
            throw Error(table, $"table '{table.Text}' is not modelled; the emulator answers from 'Resources'");
        var stages = new List<KqlStage>();
        while (Peek.Kind != Kind.End)
        {
            ExpectSymbol("|");
            stages.Add(ParseStage());
        }
        return new KqlQuery("Resources", stages);
    }

    private KqlStage ParseStage()
    {
        var keyword = Expect(Kind.Identifier, "an operator");
        switch (keyword.Text.ToLowerInvariant())
        {
            case "where":
                var conditions = new List<KqlComparison> { ParseComparison() };
                while (IsIdentifier("and"))
                {
                    _position++;
                    conditions.Add(ParseComparison());
                }
                return new WhereStage(conditions);
            case "project":
                var columns = new List<KqlColumn> { ParseColumn() };
                while (IsSymbol(","))
                {
                    _position++;
                    columns.Add(ParseColumn());
                }
                return new ProjectStage(columns);
            case "order" or "sort":
                ExpectIdentifier("by");
                var key = ParseExpr();
                var descending = true;
                if (IsIdentifier("asc") || IsIdentifier("desc")) descending = Take().Text.Equals("desc", StringComparison.OrdinalIgnoreCase);
                if (IsSymbol(",")) throw Error(Peek, "ordering by more than one column is not supported");
                return new OrderStage(key, descending);
            case "take" or "limit":
                var count = Expect(Kind.Number, "a row count");
                return new TakeStage(int.Parse(count.Text, CultureInfo.InvariantCulture));
            case "summarize":
                var countName = "count_";
                if (Peek.Kind == Kind.Identifier && PeekAt(1) is { Kind: Kind.Symbol, Text: "=" })
                {
                    countName = Take().Text;
                    _position++;
                }
                var aggregate = Expect(Kind.Identifier, "an aggregation");
                if (!aggregate.Text.Equals("count", StringComparison.OrdinalIgnoreCase))
                    throw Error(aggregate, $"aggregation '{aggregate.Text}' is not supported; only count() is");
                ExpectSymbol("(");
                ExpectSymbol(")");
                KqlColumn? by = null;
                if (IsIdentifier("by"))
                {
                    _position++;
                    by = ParseColumn();
                    if (IsSymbol(",")) throw Error(Peek, "summarize by more than one column is not supported");
                }
                return new SummarizeStage(countName, by);
            default:
                throw Error(keyword, $"operator '{keyword.Text}' is not supported; the emulator supports where, project, order by, sort by, take, limit and summarize count() by");
        }
    }

    private KqlComparison ParseComparison()
    {
        var left = ParseExpr();
        var op = Peek;
        if (op.Kind != Kind.Symbol || !Comparisons.Contains(op.Text))
            throw Error(op, $"expected a comparison (=~, !~, ==, !=) but found '{op.Text}'");
        _position++;
        var literal = Expect(Kind.String, "a string literal");
        return new KqlComparison(left, op.Text, literal.Text);
    }

    private KqlColumn ParseColumn()
    {
        if (Peek.Kind == Kind.Identifier && PeekAt(1) is { Kind: Kind.Symbol, Text: "=" })
        {
            var name = Take().Text;
            _position++;
            return new KqlColumn(name, ParseExpr());
        }
        var expr = ParseExpr();
        return new KqlColumn(expr.DefaultName, expr);
    }

    private KqlExpr ParseExpr()
    {
        var head = Expect(Kind.Identifier, "a column or function");
        KqlExpr expr;
        if (IsSymbol("("))
        {
            if (!Functions.Contains(head.Text.ToLowerInvariant()))
                throw Error(head, $"function '{head.Text}' is not supported; the emulator supports {string.Join(", ", Functions)}");
            _position++;
            var argument = ParseExpr();
            ExpectSymbol(")");
            expr = new CallExpr(head.Text.ToLowerInvariant(), argument);
        }
        else
        {
            expr = new ColumnExpr(head.Text);
        }
        while (true)
        {
            if (IsSymbol("["))
            {
                _position++;
                var key = Expect(Kind.String, "a quoted key");
                ExpectSymbol("]");
                expr = new MemberExpr(expr, key.Text);
            }
            else if (IsSymbol("."))
            {
                _position++;
                expr = new MemberExpr(expr, Expect(Kind.Identifier, "a property name").Text);
            }
            else
            {
                return expr;
            }
        }
    }

    private Token Peek => _tokens[_position];

    private Token PeekAt(int offset) => _tokens[Math.Min(_position + offset, _tokens.Count - 1)];

    private Token Take() => _tokens[_position++];

    private bool IsSymbol(string text) => Peek.Kind == Kind.Symbol && Peek.Text == text;

    private bool IsIdentifier(string text) => Peek.Kind == Kind.Identifier && Peek.Text.Equals(text, StringComparison.OrdinalIgnoreCase);

    private Token Expect(Kind kind, string what)
    {
        var token = Peek;
        if (token.Kind != kind) throw Error(token, $"expected {what} but found {Describe(token)}");
        _position++;
        return token;
    }

    private void ExpectSymbol(string symbol)
    {
        if (!IsSymbol(symbol)) throw Error(Peek, $"expected '{symbol}' but found {Describe(Peek)}");
        _position++;
    }

    private void ExpectIdentifier(string word)
    {
        if (!IsIdentifier(word)) throw Error(Peek, $"expected '{word}' but found {Describe(Peek)}");
        _position++;
    }

    private static string Describe(Token token) => token.Kind == Kind.End ? "the end of the query" : $"'{token.Text}'";

    private static KqlException Error(Token token, string problem) =>
        new($"Query is invalid at character {token.At + 1}: {problem}.");

    private static List<Token> Tokenize(string text)
    {
        var tokens = new List<Token>();
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
            }
            else if (char.IsAsciiLetter(c) || c == '_')
            {
                var start = i;
                while (i < text.Length && (char.IsAsciiLetterOrDigit(text[i]) || text[i] == '_')) i++;
                tokens.Add(new Token(Kind.Identifier, text[start..i], start));
            }
            else if (char.IsAsciiDigit(c))
            {
                var start = i;
                while (i < text.Length && char.IsAsciiDigit(text[i])) i++;
                tokens.Add(new Token(Kind.Number, text[start..i], start));
            }
            else if (c is '\'' or '"')
            {
                var start = i++;
                var value = new StringBuilder();
                while (true)
                {
                    if (i >= text.Length) throw new KqlException($"Query is invalid at character {start + 1}: a string literal is not closed.");
                    if (text[i] == '\\' && i + 1 < text.Length)
                    {
                        value.Append(text[i + 1]);
                        i += 2;
                    }
                    else if (text[i] == c)
                    {
                        i++;
                        break;
                    }
                    else
                    {
                        value.Append(text[i++]);
                    }
                }
                tokens.Add(new Token(Kind.String, value.ToString(), start));
            }
            else
            {
                var two = i + 1 < text.Length ? text.Substring(i, 2) : "";
                if (Comparisons.Contains(two))
                {
                    tokens.Add(new Token(Kind.Symbol, two, i));
                    i += 2;
                }
                else if ("|()[],=.".Contains(c))
                {
                    tokens.Add(new Token(Kind.Symbol, c.ToString(), i));
                    i++;
                }
                else
                {
                    throw new KqlException($"Query is invalid at character {i + 1}: unexpected character '{c}'.");
                }
            }
        }
        tokens.Add(new Token(Kind.End, "", text.Length));
        return tokens;
    }
}
