using Microsoft.ML;
using Microsoft.ML.Data;
using Miil.ML.Evaluation;
using Miil.ML.Onnx.Scoring;
using Miil.ML.TorchSharp.Models;

namespace Miil.ML.TorchSharp.Training;

/// <summary>
/// A trained multi-label image model: scores like <see cref="ImageScoringTransformer"/> (which it wraps:
/// the selected network exported to ONNX with class names, thresholds and preprocessing embedded), and
/// keeps the TorchSharp network and the run's history for inspection and continued training. Saved
/// with <c>mlContext.Model.Save</c> as the stock chain (resize, extract pixels, ONNX), which any ML.NET
/// application loads; <c>mlContext.MultiLabel().LoadModel</c> restores the batched scorer. Dispose it
/// to release the ONNX Runtime session and the network's native memory.
/// </summary>
/// <typeparam name="TNetwork">The network family.</typeparam>
public abstract class MultiLabelImageTransformer<TNetwork> : ITransformer, IDisposable
    where TNetwork : MultiLabelNetwork
{
    private readonly TrainingResult _result;

    private protected MultiLabelImageTransformer(TrainedModel model)
    {
        Scorer = model.Scorer;
        OnnxModel = model.Onnx;
        _result = model.Result;
        ImageSize = model.ImageSize;
        Network = (TNetwork)model.Result.Network;
    }

    /// <summary>The batched ONNX scorer this transformer runs.</summary>
    public ImageScoringTransformer Scorer { get; }

    /// <summary>The selected network (CPU, eval mode), e.g. for continued training or feature extraction. Owned by this transformer.</summary>
    public TNetwork Network { get; }

    /// <summary>The exported ONNX model (what <see cref="SaveOnnx"/> writes).</summary>
    public byte[] OnnxModel { get; }

    /// <summary>Class names, in score-slot order.</summary>
    public IReadOnlyList<string> ClassNames => _result.ClassNames;

    /// <summary>Thresholds of <c>PredictedLabels</c>, per class.</summary>
    public IReadOnlyList<float> Thresholds => _result.Thresholds;

    /// <summary>Side of the network input.</summary>
    public int ImageSize { get; }

    /// <summary>Every epoch of the run (epochs before a resume included).</summary>
    public IReadOnlyList<EpochSummary> History => _result.History;

    /// <summary>Epoch (1-based) of the selected weights.</summary>
    public int BestEpoch => _result.BestEpoch;

    /// <summary>Whether the selected weights are the raw model's or the EMA's.</summary>
    public SelectedWeights SelectedWeights => _result.SelectedWeights;

    /// <summary>Full metrics of the selected model on the validation set, with the chosen thresholds; null without a validation set.</summary>
    public MultiLabelMetrics? ValidationMetrics => _result.ValidationMetrics;

    /// <summary>Unreadable images skipped over the run (with <see cref="MultiLabelTrainerOptions.SkipUnreadableImages"/>).</summary>
    public int SkippedImages => _result.SkippedImages;

    /// <inheritdoc />
    public bool IsRowToRowMapper => Scorer.IsRowToRowMapper;

    /// <summary>Writes the ONNX model (atomically).</summary>
    /// <param name="path">The .onnx file.</param>
    public void SaveOnnx(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Miil.ML.IO.AtomicFile.Write(path, stream => stream.Write(OnnxModel));
    }

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => Scorer.GetOutputSchema(inputSchema);

    /// <inheritdoc />
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => Scorer.GetRowToRowMapper(inputSchema);

    /// <inheritdoc />
    public IDataView Transform(IDataView input) => Scorer.Transform(input);

    /// <inheritdoc />
    void ICanSaveModel.Save(ModelSaveContext ctx) => ((ICanSaveModel)Scorer).Save(ctx);

    /// <inheritdoc />
    public void Dispose()
    {
        Scorer.Dispose();
        Network.Dispose();
        GC.SuppressFinalize(this);
    }
}
