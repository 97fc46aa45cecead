using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace Miil.ML;

/// <summary>
/// The image-column contract shared by the trainer and the scorer: a text column of image paths or an
/// <c>MLImage</c> column, anything else refused with a message naming the column and the consumer.
/// </summary>
internal static class ImageColumns
{
    /// <summary>Whether column <paramref name="name"/> holds paths (true) or images (false); throws a clear error otherwise.</summary>
    /// <param name="schema">The data's schema.</param>
    /// <param name="name">The image column.</param>
    /// <param name="consumer">Who reads it, for messages ("ScoreImages", "TResNetAsl").</param>
    /// <param name="data">What the data is, for messages ("data", "training data").</param>
    /// <param name="option">The option that names the column, for messages.</param>
    public static bool IsPaths(DataViewSchema schema, string name, string consumer, string data, string option)
    {
        DataViewSchema.Column column = schema.GetColumnOrNull(name)
            ?? throw new ArgumentException($"The {data} has no image column '{name}' (columns: {string.Join(", ", schema.Select(c => c.Name))}). Set {option}.");
        return column.Type switch
        {
            TextDataViewType => true,
            ImageDataViewType => false,
            _ => throw new ArgumentException($"Image column '{name}' of the {data} is {column.Type}; {consumer} reads image paths (text) or images (MLImage). "
                + "Raw bytes: decode them to MLImage first (MLImage.CreateFromStream)."),
        };
    }

    /// <summary>The same check on a schema shape (<c>GetOutputSchema</c>): whether the column holds paths.</summary>
    public static bool IsPaths(SchemaShape shape, string name, string consumer)
    {
        SchemaShape.Column image = shape.FirstOrDefault(c => c.Name == name);
        bool paths = image.Name is not null && image.ItemType.Equals(TextDataViewType.Instance);
        if (image.Name is null || image.Kind != SchemaShape.Column.VectorKind.Scalar || !(paths || image.ItemType is ImageDataViewType))
        {
            throw new ArgumentException($"{consumer} needs a column '{name}' of image paths (text) or images.", nameof(shape));
        }
        return paths;
    }
}
