using Miil.ML.Evaluation;
using Miil.ML.Onnx.Scoring;
using Miil.ML.TorchSharp.Models.TResNet;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Miil.ML.TorchSharp.Training;

/// <summary>
/// A trained TResNet-ASL: scores like <see cref="TResNetScoringTransformer"/> (which it wraps: the
/// selected network exported to ONNX with class names and thresholds embedded), and keeps the
/// TorchSharp network and the run's history for inspection and continued training. Saved with
/// <c>mlContext.Model.Save</c> as the stock chain (resize, extract pixels, ONNX), which any ML.NET
/// application loads; <c>mlContext.MultiLabel().LoadModel</c> restores the batched scorer.
/// Dispose it to release the ONNX Runtime session and the network's native memory.
/// </summary>
public sealed class TResNetAslTransformer : ITransformer, IDisposable
{
    private readonly TrainingResult _result;

    internal TResNetAslTransformer(TResNetScoringTransformer scorer, byte[] onnxModel, TrainingResult result, TResNetAslOptions options)
    {
        Scorer = scorer;
        OnnxModel = onnxModel;
        _result = result;
        ImageSize = options.ImageSize;
    }

    /// <summary>The batched ONNX scorer this transformer runs.</summary>
    public TResNetScoringTransformer Scorer { get; }

    /// <summary>The selected network (CPU, eval mode), e.g. for continued training or feature extraction. Owned by this transformer.</summary>
    public TResNet Network => _result.Network;

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

    /// <summary>Whether the selected weights are the raw model's ("raw") or the EMA's ("ema").</summary>
    public string BestSource => _result.BestSource;

    /// <summary>Full metrics of the selected model on the validation set, with the chosen thresholds; null without a validation set.</summary>
    public MultiLabelMetrics? ValidationMetrics => _result.ValidationMetrics;

    /// <summary>Unreadable images skipped over the run (with <see cref="TResNetAslOptions.SkipUnreadableImages"/>).</summary>
    public int SkippedImages => _result.SkippedImages;

    /// <inheritdoc />
    public bool IsRowToRowMapper => Scorer.IsRowToRowMapper;

    /// <summary>Writes the ONNX model (atomically).</summary>
    public void SaveOnnx(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Miil.ML.IO.AtomicFile.Write(path, stream => stream.Write(OnnxModel));
    }

    /// <summary>Writes the network as a checkpoint (safetensors with architecture, classes and image size), which <see cref="TResNetAslOptions.PretrainedWeights"/> accepts.</summary>
    public void SaveCheckpoint(string path) => TResNetCheckpoint.Save(Network, path, ClassNames, ImageSize);

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
        _result.Network.Dispose();
    }
}
