using Microsoft.ML;
using Microsoft.ML.Data;

namespace Miil.ML;

/// <summary>The class names a vector column carries as slot names (the data contract's way to name classes).</summary>
internal static class SlotNames
{
    /// <summary>The slot names of <paramref name="column"/> in slot order, or null when it has none.</summary>
    public static string[]? Of(DataViewSchema.Column column)
    {
        if (!column.HasSlotNames())
        {
            return null;
        }
        VBuffer<ReadOnlyMemory<char>> names = default;
        column.GetSlotNames(ref names);
        return names.DenseValues().Select(n => n.ToString()).ToArray();
    }
}
