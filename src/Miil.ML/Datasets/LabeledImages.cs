using Microsoft.ML;
using Microsoft.ML.Data;

namespace Miil.ML.Datasets;

/// <summary>
/// What every dataset reader produces before it becomes a data view: image paths, a label matrix
/// (1 positive, 0 negative, -1 ignored) and the class names, checked and turned into the data
/// contract (<c>ImagePath</c> text, <c>Label</c> known-size Single vector with slot names).
/// </summary>
internal sealed class LabeledImages
{
    private readonly List<string> _paths = [];
    private readonly List<float[]> _labels = [];

    public LabeledImages(IReadOnlyList<string> classNames)
    {
        ClassNames = classNames;
    }

    public IReadOnlyList<string> ClassNames { get; }

    public void Add(string path, float[] labels)
    {
        _paths.Add(path);
        _labels.Add(labels);
    }

    /// <summary>The class list to use: the caller's (each found name must be in it) or the names found, in the given order.</summary>
    public static IReadOnlyList<string> Classes(IReadOnlyList<string>? given, IEnumerable<string> found, string source)
    {
        if (given is null)
        {
            return found.ToList();
        }
        var set = new HashSet<string>(given, StringComparer.Ordinal);
        if (set.Count != given.Count)
        {
            throw new ArgumentException($"The class list has duplicates: {string.Join(", ", given.GroupBy(g => g).Where(g => g.Count() > 1).Select(g => g.Key))}.");
        }
        string? unknown = found.FirstOrDefault(f => !set.Contains(f));
        if (unknown is not null)
        {
            throw new InvalidDataException($"{source} has class '{unknown}', which is not in the given class list ({given.Count} classes).");
        }
        return given;
    }

    /// <summary>The data view: ImagePath (text) and Label (Single vector of the class count, slot names = class names).</summary>
    public IDataView ToDataView(MLContext context)
    {
        int c = ClassNames.Count;
        if (c == 0)
        {
            throw new InvalidDataException("The dataset has no classes.");
        }
        SchemaDefinition schema = SchemaDefinition.Create(typeof(Row));
        schema[nameof(Row.Label)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, c);
        var names = new VBuffer<ReadOnlyMemory<char>>(c, ClassNames.Select(n => n.AsMemory()).ToArray());
        schema[nameof(Row.Label)].AddAnnotation(AnnotationUtilsSlotNames, names, new VectorDataViewType(TextDataViewType.Instance, c));
        var rows = new Row[_paths.Count];
        for (int i = 0; i < rows.Length; i++)
        {
            rows[i] = new Row { ImagePath = _paths[i], Label = _labels[i] };
        }
        return context.Data.LoadFromEnumerable(rows, schema);
    }

    /// <summary>ML.NET's annotation kind for slot names.</summary>
    private const string AnnotationUtilsSlotNames = "SlotNames";

    /// <summary>Checks that every image exists, naming the first missing one and where it was referenced.</summary>
    public static void CheckExists(string path, Func<string> referencedBy)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Image '{path}' ({referencedBy()}) does not exist.", path);
        }
    }

    private sealed class Row
    {
        public string ImagePath { get; set; } = "";

        public float[] Label { get; set; } = [];
    }
}
