using Microsoft.ML;
using Microsoft.ML.Data;
using Miil.ML.Onnx.Graphs;

namespace Miil.ML.Onnx;

/// <summary>
/// Applies per-class thresholds to a score column: a Boolean vector, true where the score exceeds its
/// class's threshold. Fitting checks the score column and returns ML.NET's own ONNX transformer
/// running a one-node graph, so the thresholds are saved inside the model zip and the model loads in
/// any ML.NET application (no registration needed). Created by
/// <c>mlContext.MultiLabel().ApplyThresholds(...)</c>.
/// </summary>
public sealed class ApplyThresholdsEstimator : IEstimator<ITransformer>
{
    private readonly MLContext _context;
    private readonly float[] _thresholds;

    internal ApplyThresholdsEstimator(MLContext context, IReadOnlyList<float> thresholds, string predictedLabelsColumnName, string scoreColumnName)
    {
        ArgumentNullException.ThrowIfNull(thresholds);
        ArgumentException.ThrowIfNullOrEmpty(scoreColumnName);
        ArgumentException.ThrowIfNullOrEmpty(predictedLabelsColumnName);
        if (thresholds.Count == 0 || thresholds.Any(t => float.IsNaN(t)))
        {
            throw new ArgumentException("Thresholds must be one number (not NaN) per class.", nameof(thresholds));
        }
        if (scoreColumnName == predictedLabelsColumnName)
        {
            throw new ArgumentException($"The decisions cannot replace the score column '{scoreColumnName}'.", nameof(predictedLabelsColumnName));
        }
        _context = context;
        _thresholds = [.. thresholds];
        ScoreColumnName = scoreColumnName;
        PredictedLabelsColumnName = predictedLabelsColumnName;
    }

    /// <summary>The decision column written.</summary>
    public string PredictedLabelsColumnName { get; }

    /// <summary>The score column read.</summary>
    public string ScoreColumnName { get; }

    /// <summary>The thresholds, one per class.</summary>
    public IReadOnlyList<float> Thresholds => _thresholds;

    /// <summary>Checks the score column and returns the stock ONNX transformer holding the thresholds.</summary>
    /// <exception cref="ArgumentException">The score column is missing, not a known-size vector of Single, or of another size than the thresholds.</exception>
    public ITransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        DataViewSchema.Column score = input.Schema.GetColumnOrNull(ScoreColumnName)
            ?? throw new ArgumentException($"The data has no score column '{ScoreColumnName}'. Columns: {string.Join(", ", input.Schema.Select(c => c.Name))}.", nameof(input));
        if (score.Type is not VectorDataViewType { IsKnownSize: true, ItemType: NumberDataViewType n } vector || n != NumberDataViewType.Single)
        {
            throw new ArgumentException($"Score column '{ScoreColumnName}' is {score.Type}; it must be a known-size vector of Single.", nameof(input));
        }
        if (vector.Size != _thresholds.Length)
        {
            throw new ArgumentException($"Score column '{ScoreColumnName}' has {vector.Size} classes but {_thresholds.Length} thresholds were given.", nameof(input));
        }
        return Stock().Fit(input);
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema) => Stock().GetOutputSchema(inputSchema);

    private IEstimator<ITransformer> Stock()
    {
        var graph = new MemoryStream(ThresholdGraph.Build(_thresholds, ScoreColumnName, PredictedLabelsColumnName));
        return _context.Transforms.ApplyOnnxModel([PredictedLabelsColumnName], [ScoreColumnName], graph, gpuDeviceId: null, fallbackToCpu: true);
    }
}
