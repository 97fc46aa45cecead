using System.Text;

namespace Miil.ML.Datasets;

/// <summary>
/// Reads a CSV/TSV manifest: <c>path&lt;sep&gt;labels</c>, labels separated by
/// <see cref="ManifestOptions.LabelSeparator"/> (an empty field: no positive label), fields
/// optionally in double quotes (doubled quotes inside). The first line may be a header.
/// </summary>
internal static class ManifestReader
{
    public static LabeledImages Read(string path, ManifestOptions options)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Manifest '{path}' does not exist.", path);
        }
        char separator = options.Separator ?? (path.EndsWith(".tsv", StringComparison.OrdinalIgnoreCase) ? '\t' : ',');
        string folder = options.ImageFolder ?? Path.GetDirectoryName(Path.GetFullPath(path))!;
        var rows = new List<(int Line, string Image, string[] Labels)>();
        int lineNumber = 0;
        foreach (string line in File.ReadLines(path))
        {
            lineNumber++;
            if ((lineNumber == 1 && options.HasHeader) || string.IsNullOrWhiteSpace(line))
            {
                continue;
            }
            List<string> fields = Split(line, separator, path, lineNumber);
            if (fields.Count is < 1 or > 2 || fields[0].Trim().Length == 0)
            {
                throw new InvalidDataException($"Line {lineNumber} of '{path}' has {fields.Count} fields; expected an image path and its labels separated by '{Describe(separator)}'.");
            }
            string[] labels = fields.Count == 2
                ? fields[1].Split(options.LabelSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct(StringComparer.Ordinal).ToArray()
                : [];
            rows.Add((lineNumber, fields[0].Trim(), labels));
        }
        IEnumerable<string> found = rows.SelectMany(r => r.Labels).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
        IReadOnlyList<string> classes;
        try
        {
            classes = LabeledImages.Classes(options.Classes, found, $"Manifest '{path}'");
        }
        catch (InvalidDataException) when (options.Classes is not null)
        {
            var known = new HashSet<string>(options.Classes, StringComparer.Ordinal);
            var bad = rows.First(r => r.Labels.Any(l => !known.Contains(l)));
            throw new InvalidDataException($"Line {bad.Line} of '{path}' has label '{bad.Labels.First(l => !known.Contains(l))}', which is not in the given class list.");
        }
        var index = classes.Select((name, i) => (name, i)).ToDictionary(p => p.name, p => p.i, StringComparer.Ordinal);
        var result = new LabeledImages(classes);
        foreach ((int line, string image, string[] labels) in rows)
        {
            string full = Path.GetFullPath(Path.Combine(folder, image));
            if (options.CheckFilesExist)
            {
                LabeledImages.CheckExists(full, () => $"line {line} of '{path}'");
            }
            var vector = new float[classes.Count];
            foreach (string label in labels)
            {
                vector[index[label]] = 1;
            }
            result.Add(full, vector);
        }
        return result;
    }

    private static string Describe(char c) => c == '\t' ? "\\t" : c.ToString();

    private static List<string> Split(string line, char separator, string path, int lineNumber)
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    field.Append(c);
                }
            }
            else if (c == '"' && field.ToString().Trim().Length == 0)
            {
                field.Clear();
                quoted = true;
            }
            else if (c == separator)
            {
                fields.Add(field.ToString());
                field.Clear();
            }
            else
            {
                field.Append(c);
            }
        }
        if (quoted)
        {
            throw new InvalidDataException($"Line {lineNumber} of '{path}' has an unclosed quote.");
        }
        fields.Add(field.ToString());
        return fields;
    }
}
