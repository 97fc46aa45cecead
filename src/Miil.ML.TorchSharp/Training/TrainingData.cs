using Microsoft.ML;
using Microsoft.ML.Data;

namespace Miil.ML.TorchSharp.Training;

/// <summary>
/// What Fit keeps of a data view: the image references (paths, or images for small in-memory sets;
/// never decoded pixels) and the label matrix, checked against the data contract (known-size
/// Single vector with class names as slot names; 1, 0 or -1).
/// </summary>
internal sealed class TrainingData : IDisposable
{
    private TrainingData(string role, IReadOnlyList<string>? paths, IReadOnlyList<MLImage>? images, float[] labels, IReadOnlyList<string> classNames)
    {
        Role = role;
        Paths = paths;
        Images = images;
        Labels = labels;
        ClassNames = classNames;
    }

    /// <summary>"training" or "validation", for messages.</summary>
    public string Role { get; }

    public IReadOnlyList<string>? Paths { get; }

    /// <summary>Copies of the column's images, owned by this object (<see cref="Dispose"/>).</summary>
    public IReadOnlyList<MLImage>? Images { get; }

    /// <summary>Row-major N x C.</summary>
    public float[] Labels { get; }

    public IReadOnlyList<string> ClassNames { get; }

    public int ClassCount => ClassNames.Count;

    public int Count => Labels.Length / ClassCount;

    /// <summary>How a row is named in errors: its index and path.</summary>
    public string Describe(int row) => Paths is null ? $"{Role} row {row}" : $"{Role} row {row} ('{Paths[row]}')";

    /// <summary>The label column's class names; throws a clear error when the column breaks the contract.</summary>
    public static IReadOnlyList<string> CheckLabelColumn(DataViewSchema schema, string name, string role)
    {
        DataViewSchema.Column? found = schema.GetColumnOrNull(name);
        if (found is null)
        {
            throw new ArgumentException($"The {role} data has no label column '{name}' (columns: {string.Join(", ", schema.Select(c => c.Name))}). Map text labels with mlContext.MultiLabel().MapLabels(...).");
        }
        DataViewSchema.Column column = found.Value;
        if (column.Type is not VectorDataViewType { ItemType: NumberDataViewType number, Size: > 0 } || number != NumberDataViewType.Single)
        {
            throw new ArgumentException($"Label column '{name}' of the {role} data is {column.Type}; it must be a known-size vector of Single (1 positive, 0 negative, -1 ignored), as MapLabels produces.");
        }
        string[] names = SlotNames.Of(column)
            ?? throw new ArgumentException($"Label column '{name}' of the {role} data has no slot names; the class names come from them (MapLabels sets them).");
        int blank = Array.FindIndex(names, string.IsNullOrWhiteSpace);
        if (blank >= 0)
        {
            throw new ArgumentException($"Label column '{name}' of the {role} data has an empty slot name at class {blank}.");
        }
        return names;
    }

    public static TrainingData Read(IDataView data, TResNetAslOptions options, string role, IReadOnlyList<string>? expectedClasses)
    {
        ArgumentNullException.ThrowIfNull(data);
        bool fromPaths = ImageColumns.IsPaths(data.Schema, options.ImageColumnName, options.TrainerName, role + " data", $"{options.GetType().Name}.ImageColumnName");
        IReadOnlyList<string> classes = CheckLabelColumn(data.Schema, options.LabelColumnName, role);
        if (expectedClasses is not null && !classes.SequenceEqual(expectedClasses))
        {
            throw new ArgumentException(
                $"The {role} labels' classes [{string.Join(", ", classes)}] differ from the training classes [{string.Join(", ", expectedClasses)}]; map both with the same MapLabels (or the same class list).");
        }
        DataViewSchema.Column image = data.Schema[options.ImageColumnName];
        DataViewSchema.Column label = data.Schema[options.LabelColumnName];
        int c = classes.Count;
        var labels = new List<float>();
        var paths = fromPaths ? new List<string>() : null;
        var images = fromPaths ? null : new List<MLImage>();
        using (DataViewRowCursor cursor = data.GetRowCursor([image, label]))
        {
            ValueGetter<VBuffer<float>> getLabel = cursor.GetGetter<VBuffer<float>>(label);
            ValueGetter<ReadOnlyMemory<char>>? getPath = fromPaths ? cursor.GetGetter<ReadOnlyMemory<char>>(image) : null;
            ValueGetter<MLImage>? getImage = fromPaths ? null : cursor.GetGetter<MLImage>(image);
            VBuffer<float> row = default;
            ReadOnlyMemory<char> path = default;
            MLImage picture = null!;
            int index = 0;
            while (cursor.MoveNext())
            {
                getLabel(ref row);
                string name = $"{role} row {index}";
                if (getPath is not null)
                {
                    getPath(ref path);
                    if (path.Span.IsWhiteSpace())
                    {
                        throw new InvalidDataException($"The {role} data has an empty image path at row {index} (column '{options.ImageColumnName}').");
                    }
                    paths!.Add(path.ToString());
                    name = $"{role} row {index} ('{path}')";
                }
                else
                {
                    // Copied: ML.NET's image transforms dispose the image they handed out when their getter runs again.
                    picture = null!;
                    getImage!(ref picture);
                    images!.Add(picture is null
                        ? throw new InvalidDataException($"The {role} data has no image at row {index} (column '{options.ImageColumnName}').")
                        : MLImage.CreateFromPixels(picture.Width, picture.Height, picture.PixelFormat, picture.Pixels));
                }
                int k = 0;
                foreach (float v in row.DenseValues())
                {
                    if (v != 1 && v != 0 && v != -1)
                    {
                        throw new InvalidDataException($"Label '{classes[k]}' of {name} is {v}; labels are 1 (positive), 0 (negative) or -1 (ignored).");
                    }
                    labels.Add(v);
                    k++;
                }
                index++;
            }
        }
        if (labels.Count == 0)
        {
            throw new ArgumentException($"The {role} data has no rows.");
        }
        return new TrainingData(role, paths, images, labels.ToArray(), classes);
    }

    /// <summary>A digest of the rows (paths, or image sizes, and labels): a checkpoint resumes only the data it was trained on.</summary>
    public string Digest()
    {
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        for (int row = 0; row < Count; row++)
        {
            string image = Paths is not null ? Paths[row] : $"{Images![row].Width}x{Images[row].Height}";
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(image + "\n"));
        }
        hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(Labels.AsSpan()));
        return Convert.ToHexString(hash.GetHashAndReset())[..16];
    }

    public void Dispose()
    {
        foreach (MLImage image in Images ?? [])
        {
            image.Dispose();
        }
    }

    /// <summary>Positive labels per class.</summary>
    public int[] PositivesPerClass()
    {
        var counts = new int[ClassCount];
        for (int i = 0; i < Labels.Length; i++)
        {
            if (Labels[i] == 1)
            {
                counts[i % ClassCount]++;
            }
        }
        return counts;
    }
}
