namespace Shellbox.StoreBench;

internal sealed record BenchOptions(int Samples, IReadOnlyList<int> Boxes, IReadOnlyList<string> Stores)
{
    private static readonly string[] KnownStores = ["sqlite", "azurite"];

    /// <summary>The options, or null after printing what was wrong.</summary>
    public static BenchOptions? Parse(string[] args)
    {
        var options = new BenchOptions(200, [10, 10_000], KnownStores);
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--samples" when int.TryParse(value, out var samples) && samples > 0:
                    options = options with { Samples = samples };
                    break;
                case "--boxes" when value is not null && value.Split(',').All(b => int.TryParse(b, out var n) && n >= 0):
                    options = options with { Boxes = value.Split(',').Select(int.Parse).ToList() };
                    break;
                case "--stores" when value is not null && value.Split(',').All(KnownStores.Contains):
                    options = options with { Stores = value.Split(',') };
                    break;
                default:
                    Console.Error.WriteLine($"StoreBench: unknown or bad option '{args[i]}'. Use --samples N, --boxes A,B, --stores sqlite,azurite.");
                    return null;
            }

            i++;
        }

        return options;
    }
}
