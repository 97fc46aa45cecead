namespace Miil.ML.Onnx.Serving;

/// <summary>One image's scores: every class's probability, the decisions of the model's thresholds, and the labels they give.</summary>
public sealed record MultiLabelPrediction
{
    /// <summary>Class names, in score order.</summary>
    public required IReadOnlyList<string> ClassNames { get; init; }

    /// <summary>The probability of each class (sigmoid of the logits).</summary>
    public required float[] Scores { get; init; }

    /// <summary>Whether each class's score reaches its threshold.</summary>
    public required bool[] PredictedLabels { get; init; }

    /// <summary>The predicted labels with their scores, highest first.</summary>
    public IReadOnlyList<(string Label, float Score)> Labels
        => Enumerable.Range(0, Scores.Length).Where(k => PredictedLabels[k]).OrderByDescending(k => Scores[k]).Select(k => (ClassNames[k], Scores[k])).ToList();
}
