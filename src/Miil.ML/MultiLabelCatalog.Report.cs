using Microsoft.ML;
using Miil.ML.Evaluation;
using Miil.ML.Reports;

namespace Miil.ML;

public sealed partial class MultiLabelCatalog
{
    /// <summary>
    /// Evaluates a scored data view and gathers what a report shows beyond the metrics: a gallery of its
    /// images (an even sample, the worst images, the lowest-AP classes' false positives; JPEG thumbnails
    /// within <see cref="ReportOptions.MaxGalleryBytes"/>) and the labels' statistics (co-occurrence,
    /// cardinality). Add a training section with <see cref="MultiLabelReportContent.WithTraining"/>, then
    /// <c>SaveReport(path)</c>.
    /// </summary>
    /// <param name="scored">Rows with true labels, scores, decisions and (for the gallery) images or image paths.</param>
    /// <param name="options">Columns, threshold, gallery sizes; null for the defaults.</param>
    /// <param name="metrics">Metrics already computed on <paramref name="scored"/>; null to evaluate here.</param>
    /// <exception cref="ArgumentException">A column is missing or of the wrong type (named).</exception>
    public MultiLabelReportContent BuildReport(IDataView scored, ReportOptions? options = null, MultiLabelMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(scored);
        options ??= new ReportOptions();
        options.Validate();
        string? decisions = options.PredictedLabelsColumnName is string d && scored.Schema.GetColumnOrNull(d) is not null ? d : null;
        metrics ??= Evaluate(scored, options.LabelColumnName, options.ScoreColumnName, decisions, options.Threshold);
        return ReportBuilder.Build(Context, scored, metrics, options with { PredictedLabelsColumnName = decisions });
    }
}
