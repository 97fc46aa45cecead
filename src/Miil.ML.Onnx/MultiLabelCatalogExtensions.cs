using Miil.ML.Evaluation;

namespace Miil.ML.Onnx;

/// <summary>The ONNX-based operations of <c>mlContext.MultiLabel()</c>.</summary>
public static class MultiLabelCatalogExtensions
{
    /// <summary>
    /// Per-class thresholds over a score column, as a Boolean vector column (true where
    /// score &gt; threshold). The thresholds travel inside a saved model.
    /// </summary>
    /// <param name="catalog">The multi-label catalog.</param>
    /// <param name="thresholds">One threshold per class, in score-slot order.</param>
    /// <param name="scoreColumnName">Score column (known-size vector of Single). Default "Score".</param>
    /// <param name="predictedLabelsColumnName">Decision column to write. Default "PredictedLabels".</param>
    public static ApplyThresholdsEstimator ApplyThresholds(this MultiLabelCatalog catalog, IReadOnlyList<float> thresholds,
        string scoreColumnName = "Score", string predictedLabelsColumnName = "PredictedLabels")
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new ApplyThresholdsEstimator(catalog.Context, thresholds, scoreColumnName, predictedLabelsColumnName);
    }

    /// <summary>Applies thresholds chosen by <c>mlContext.MultiLabel().TuneThresholds(...)</c>.</summary>
    public static ApplyThresholdsEstimator ApplyThresholds(this MultiLabelCatalog catalog, TunedThresholds tuned,
        string scoreColumnName = "Score", string predictedLabelsColumnName = "PredictedLabels")
    {
        ArgumentNullException.ThrowIfNull(tuned);
        return catalog.ApplyThresholds(tuned.Thresholds, scoreColumnName, predictedLabelsColumnName);
    }
}
