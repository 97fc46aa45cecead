using Miil.ML.Labels;

namespace Miil.ML;

public sealed partial class MultiLabelCatalog
{
    /// <summary>
    /// Maps a text column such as <c>"cat;dog"</c> (or a vector-of-text column) to a label vector:
    /// known-size vector of Single, 1 positive and 0 negative, class names as slot names.
    /// </summary>
    /// <param name="outputColumnName">Label column to write.</param>
    /// <param name="inputColumnName">Text or vector-of-text column to read.</param>
    /// <param name="separator">Separator between labels in a text cell. Default ';'.</param>
    /// <param name="classes">The class list, in output order; null to learn it at Fit (distinct labels, ordinal order).</param>
    /// <param name="unknownLabels">What to do with a label outside the class list at transform time. Default: error.</param>
    /// <remarks>See <see cref="MapLabelsEstimator"/> for the label-text rules and for loading a saved model.</remarks>
    public MapLabelsEstimator MapLabels(string outputColumnName, string inputColumnName, char separator = ';',
        IReadOnlyList<string>? classes = null, UnknownLabelPolicy unknownLabels = UnknownLabelPolicy.Error)
        => new(Context, outputColumnName, inputColumnName, separator, classes, unknownLabels);
}
