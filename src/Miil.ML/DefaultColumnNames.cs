namespace Miil.ML;

/// <summary>
/// The column names Miil.ML's readers write and its trainers, scorers and evaluators read unless told
/// otherwise: one place for the defaults every <c>...ColumnName</c> parameter and option documents.
/// </summary>
public static class DefaultColumnNames
{
    /// <summary>"ImagePath": image paths (text), as the dataset readers write them.</summary>
    public const string ImagePath = "ImagePath";

    /// <summary>"Label": the multi-label vector (known-size Single vector, 1/0/-1, class names as slot names).</summary>
    public const string Label = "Label";

    /// <summary>"Score": per-class probabilities written by scorers.</summary>
    public const string Score = "Score";

    /// <summary>"PredictedLabels": per-class Boolean decisions written by scorers.</summary>
    public const string PredictedLabels = "PredictedLabels";
}
