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
    /// cardinality). The scored columns are read once (a lazily scored view runs its model once), so
    /// take the metrics from the report (<see cref="MultiLabelReportContent.Metrics"/>) rather than
    /// evaluating again. Add a training section with <see cref="MultiLabelReportContent.WithTraining"/>,
    /// then <c>SaveReport(path)</c>.
    /// </summary>
    /// <param name="data">Rows with true labels, scores, decisions and (for the gallery) images or image paths.</param>
    /// <param name="labelColumnName">Label column (see <see cref="Evaluate(IDataView, string, string, string?, float, int)"/>).</param>
    /// <param name="scoreColumnName">Score column of the same size.</param>
    /// <param name="options">Title, decision column and threshold, image column, gallery sizes; null for the defaults.</param>
    /// <param name="metrics">Metrics already computed on <paramref name="data"/>; null to evaluate here.</param>
    /// <exception cref="ArgumentException">A column is missing or of the wrong type (named).</exception>
    public MultiLabelReportContent BuildReport(IDataView data, string labelColumnName = DefaultColumnNames.Label, string scoreColumnName = DefaultColumnNames.Score,
        ReportOptions? options = null, MultiLabelMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentException.ThrowIfNullOrEmpty(labelColumnName);
        ArgumentException.ThrowIfNullOrEmpty(scoreColumnName);
        options ??= new ReportOptions();
        options.Validate();
        string? decisions = options.PredictedLabelsColumnName is string d && data.Schema.GetColumnOrNull(d) is not null ? d : null;
        // The scored columns are read twice (metrics, then the gallery's choice): cached, the model runs once.
        IDataView once = Context.Data.Cache(data);
        metrics ??= Evaluate(once, labelColumnName, scoreColumnName, decisions, options.Threshold);
        return ReportBuilder.Build(Context, once, metrics, labelColumnName, scoreColumnName, decisions, options);
    }
}
