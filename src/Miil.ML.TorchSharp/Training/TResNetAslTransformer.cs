using Microsoft.ML;
using Microsoft.ML.Data;
using Miil.ML.Evaluation;
using Miil.ML.Onnx;
using Miil.ML.Onnx.Scoring;
using Miil.ML.Reports;
using Miil.ML.TorchSharp.Export;
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
public sealed class TResNetAslTransformer : ITransformer, IDisposable
{
    private readonly TrainingResult _result;
    private MultiLabelNetwork? _network;

    internal TResNetAslTransformer(ImageScoringTransformer scorer, byte[] onnx, TrainingResult result, int imageSize, IReadOnlyList<KeyValuePair<string, string>> options)
    {
        Scorer = scorer;
        OnnxModel = onnx;
        _result = result;
        ImageSize = imageSize;
        _network = result.Network;
        History = new TrainingHistory
        {
            Epochs = result.History,
            SelectedEpoch = result.BestEpoch,
            SelectedWeights = result.SelectedWeights,
            Options = options,
        };
    }

    /// <summary>The batched ONNX scorer this transformer runs.</summary>
    public ImageScoringTransformer Scorer { get; }

    /// <summary>The selected network (CPU, eval mode), e.g. for continued training or feature extraction. Owned by this transformer.</summary>
    /// <exception cref="ObjectDisposedException">The transformer was disposed (which releases the network; scoring keeps working).</exception>
    public MultiLabelNetwork Network => _network ?? throw new ObjectDisposedException(GetType().Name,
        "The TorchSharp network was released when this transformer was disposed; scoring still works. ML.NET's PredictionEngine disposes the transformer "
        + "it was made from when the engine is disposed: create engines with new PredictionEngineOptions { OwnsTransformer = false } to keep the network.");

    /// <summary>The exported ONNX model (what <see cref="SaveOnnx(string)"/> writes).</summary>
    public byte[] OnnxModel { get; }

    /// <summary>Class names, in score-slot order.</summary>
    public IReadOnlyList<string> ClassNames => _result.ClassNames;

    /// <summary>Thresholds of <c>PredictedLabels</c>, per class.</summary>
    public IReadOnlyList<float> Thresholds => _result.Thresholds;

    /// <summary>Side of the network input.</summary>
    public int ImageSize { get; }

    /// <summary>
    /// The run: every epoch (epochs before a resume included), the selected epoch and weights (raw or
    /// EMA), and the options that shaped it; what a report's training section shows
    /// (<see cref="MultiLabelReportContent.WithTraining"/>).
    /// </summary>
    public TrainingHistory History { get; }

    /// <summary>Full metrics of the selected model on the validation set, with the chosen thresholds; null without a validation set.</summary>
    public MultiLabelMetrics? ValidationMetrics => _result.ValidationMetrics;

    /// <summary>
    /// The precision the run trained in (its last part, if it resumed): <see cref="TResNetAslOptions.Precision"/>, or
    /// float32 where bfloat16 was asked for on a CPU without bfloat16 instructions.
    /// </summary>
    public TrainingPrecision Precision => _result.Precision;

    /// <summary>Unreadable images skipped over the run (with <see cref="TResNetAslOptions.SkipUnreadableImages"/>).</summary>
    public int SkippedImages => _result.SkippedImages;

    /// <inheritdoc />
    public bool IsRowToRowMapper => Scorer.IsRowToRowMapper;

    /// <summary>Writes the ONNX model (atomically).</summary>
    /// <param name="path">The .onnx file.</param>
    public void SaveOnnx(string path) => SaveOnnx(path, OnnxPrecision.Float32);

    /// <summary>
    /// Writes the ONNX model (atomically) in float32 (<see cref="OnnxModel"/>) or float16 (exported again
    /// from <see cref="Network"/> with the same classes, thresholds and preprocessing, for GPU scoring).
    /// </summary>
    /// <param name="path">The .onnx file.</param>
    /// <param name="precision">The weights' and arithmetic's format.</param>
    public void SaveOnnx(string path, OnnxPrecision precision)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] bytes = precision == OnnxPrecision.Float32 ? OnnxModel : OnnxExporter.Export(Network, new OnnxExportOptions
        {
            ImageSize = ImageSize,
            ClassNames = ClassNames,
            Thresholds = Thresholds,
            Preprocessing = Scorer.Model.Preprocessing,
            Precision = precision,
        });
        Miil.ML.IO.AtomicFile.Write(path, stream => stream.Write(bytes));
    }

    /// <summary>Writes the network as this library's checkpoint (safetensors with the architecture, the classes and the image size), which <see cref="TResNetAslOptions.PretrainedWeights"/> accepts.</summary>
    /// <param name="path">The .safetensors file.</param>
    public void SaveCheckpoint(string path) => Network.SaveCheckpoint(path, ClassNames, ImageSize);

    /// <summary>
    /// Writes the model as an NVIDIA Triton model repository entry (the ONNX file, a config.pbtxt made
    /// from its own inputs and outputs with dynamic batching, and a labels file); returns the model's folder.
    /// </summary>
    /// <param name="repository">The model repository folder.</param>
    /// <param name="modelName">The model's name (its folder); null for "multilabel".</param>
    /// <param name="options">Batching and instances.</param>
    public string SaveTritonRepository(string repository, string? modelName = null, Onnx.Serving.TritonOptions? options = null)
        => Onnx.Serving.TritonRepository.Save(OnnxModel, repository, modelName, options);

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => Scorer.GetOutputSchema(inputSchema);

    /// <inheritdoc />
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => Scorer.GetRowToRowMapper(inputSchema);

    /// <inheritdoc />
    public IDataView Transform(IDataView input) => Scorer.Transform(input);

    /// <inheritdoc />
    void ICanSaveModel.Save(ModelSaveContext ctx) => ((ICanSaveModel)Scorer).Save(ctx);

    /// <summary>
    /// Releases the network's native memory and the ONNX Runtime session. Scoring stays possible (the
    /// session reopens on the next call, as ML.NET's PredictionEngine disposes the transformer it was made
    /// from); <see cref="Network"/> does not.
    /// </summary>
    public void Dispose()
    {
        Scorer.Dispose();
        Interlocked.Exchange(ref _network, null)?.Dispose();
        GC.SuppressFinalize(this);
    }
}
