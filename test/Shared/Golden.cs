using System.Reflection;
using System.Text.Json;

namespace Miil.ML.Testing;

/// <summary>
/// The golden data produced by the original PyTorch code (../shared/golden beside the checkout, or
/// MIIL_GOLDEN_DIR). Tests read cases from it at run time and loop over all of them.
/// </summary>
internal static class Golden
{
    public static string Directory
    {
        get
        {
            string? dir = Environment.GetEnvironmentVariable("MIIL_GOLDEN_DIR");
            if (string.IsNullOrEmpty(dir))
            {
                dir = typeof(Golden).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
                    .FirstOrDefault(a => a.Key == "MiilGoldenDirectory")?.Value;
            }
            if (string.IsNullOrEmpty(dir) || !System.IO.Directory.Exists(dir))
            {
                throw new InvalidOperationException(
                    $"Golden data not found at '{dir}'. Place shared/golden beside the checkout or set MIIL_GOLDEN_DIR.");
            }
            return dir;
        }
    }

    public static string PathOf(string file) => Path.Combine(Directory, file);

    public static JsonDocument Json(string file) => JsonDocument.Parse(File.ReadAllBytes(PathOf(file)));

    /// <summary>A JSON number, or the strings 'NaN', 'Infinity', '-Infinity' the golden files use.</summary>
    public static double Number(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Number => e.GetDouble(),
        JsonValueKind.String => e.GetString() switch
        {
            "NaN" => double.NaN,
            "Infinity" => double.PositiveInfinity,
            "-Infinity" => double.NegativeInfinity,
            var s => throw new FormatException($"Not a number: '{s}'"),
        },
        _ => throw new FormatException($"Not a number: {e}"),
    };

    /// <summary>A nested JSON array of numbers, flattened in row-major order, with its shape.</summary>
    public static (double[] Values, long[] Shape) Array(JsonElement e)
    {
        var shape = new List<long>();
        for (JsonElement x = e; x.ValueKind == JsonValueKind.Array; x = x[0])
        {
            shape.Add(x.GetArrayLength());
            if (x.GetArrayLength() == 0)
            {
                break;
            }
        }
        var values = new List<double>();
        Flatten(e, values);
        return (values.ToArray(), shape.ToArray());
    }

    private static void Flatten(JsonElement e, List<double> into)
    {
        if (e.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement x in e.EnumerateArray())
            {
                Flatten(x, into);
            }
        }
        else
        {
            into.Add(Number(e));
        }
    }
}
