using System.Text;

namespace Miil.ML.Datasets;

/// <summary>
/// Reads a CSV/TSV manifest: <c>path&lt;sep&gt;labels</c>, labels separated by
/// <see cref="ManifestOptions.LabelSeparator"/> (an empty field: no positive label), fields
/// optionally in double quotes (doubled quotes inside). With a header, the two columns may be picked
/// by name among others; a header without a labels column is refused naming the columns it has.
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
        int lineNumber = 0, imageAt = 0, labelsAt = 1, width = 2;
        foreach (string line in File.ReadLines(path))
        {
            lineNumber++;
            if (lineNumber == 1 && options.HasHeader)
            {
                List<string> header = Split(line, separator, path, lineNumber).Select(h => h.Trim()).ToList();
                (imageAt, labelsAt) = Columns(header, options, path);
                width = header.Count;
                continue;
            }
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }
            List<string> fields = Split(line, separator, path, lineNumber);
            if (fields.Count > width || fields.Count <= imageAt || fields[imageAt].Trim().Length == 0)
            {
                throw new InvalidDataException($"Line {lineNumber} of '{path}' has {fields.Count} fields; expected {(width == 2 ? "an image path and its labels" : $"{width} columns")} separated by '{Describe(separator)}'.");
            }
            string[] labels = fields.Count > labelsAt
                ? fields[labelsAt].Split(options.LabelSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct(StringComparer.Ordinal).ToArray()
                : [];
            rows.Add((lineNumber, fields[imageAt].Trim(), labels));
        }
        if (options.Classes is null && rows.Count > 0 && rows.All(r => r.Labels.Length == 0))
        {
            throw new InvalidDataException(options.HasHeader
                ? $"Manifest '{path}' has no labels in its column {labelsAt + 1} ('{(options.LabelsColumn ?? "the second")}'): every row's labels are empty. Give the labels (separated by '{options.LabelSeparator}'), or the class list (ManifestOptions.Classes) for a set without positives."
                : $"Manifest '{path}' has no labels: every line holds an image path alone. Add the labels after a '{Describe(separator)}' (separated by '{options.LabelSeparator}').");
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

    /// <summary>The image-path and labels columns of a header: by name when the options give one, else the first two.</summary>
    private static (int Image, int Labels) Columns(List<string> header, ManifestOptions options, string path)
    {
        string found = string.Join(", ", header.Select(h => $"'{h}'"));
        int Find(string name, string role)
        {
            int at = header.FindIndex(h => string.Equals(h, name, StringComparison.OrdinalIgnoreCase));
            return at >= 0 ? at : throw new InvalidDataException($"Manifest '{path}' has no {role} column '{name}'; its header has {found}.");
        }
        int image = options.ImagePathColumn is string i ? Find(i, "image-path") : 0;
        if (options.LabelsColumn is string l)
        {
            return (image, Find(l, "labels"));
        }
        int labels = image == 0 ? 1 : 0;
        if (header.Count < 2)
        {
            throw new InvalidDataException(
                $"Manifest '{path}' has no labels column: its header has {found} only. A manifest holds an image path and its labels (separated by '{options.LabelSeparator}'); set ManifestOptions.LabelsColumn if they are in a named column.");
        }
        return (image, labels);
    }

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
