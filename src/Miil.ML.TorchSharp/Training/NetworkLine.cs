using System.Text.Json;

namespace Miil.ML.TorchSharp.Training;

/// <summary>The "network" line of a report's options table, from the network's own JSON description.</summary>
internal static class NetworkLine
{
    /// <summary>A network's JSON description as a report line: "TResNet: name custom, layers [1,1,1,1], width factor 0.5, ...".</summary>
    public static string Readable(string family, string description)
    {
        try
        {
            using var json = JsonDocument.Parse(description);
            if (json.RootElement.ValueKind != JsonValueKind.Object)
            {
                return $"{family} {description}";
            }
            IEnumerable<string> parts = json.RootElement.EnumerateObject()
                .Where(p => p.Name != "family" && p.Value.ValueKind != JsonValueKind.Null)
                .Select(p => $"{p.Name.Replace('_', ' ')} {(p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString() : p.Value.GetRawText())}");
            return $"{family}: {string.Join(", ", parts)}";
        }
        catch (JsonException)
        {
            return $"{family} {description}";
        }
    }
}
