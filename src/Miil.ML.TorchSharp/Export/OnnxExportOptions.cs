using Miil.ML.Images;
using Miil.ML.Onnx;

namespace Miil.ML.TorchSharp.Export;

/// <summary>Options of <see cref="OnnxExporter"/>.</summary>
internal sealed record OnnxExportOptions
{
    /// <summary>Square input side the graph is built for (a multiple of the network's input step). Default 224.</summary>
    public int ImageSize { get; init; } = Models.NetworkDefaults.ImageSize;

    /// <summary>Class names in output order; default "class_0", "class_1", ...</summary>
    public IReadOnlyList<string>? ClassNames { get; init; }

    /// <summary>Per-class thresholds of <c>PredictedLabels</c>; null to use <see cref="Threshold"/> for every class.</summary>
    public IReadOnlyList<float>? Thresholds { get; init; }

    /// <summary>The threshold of every class when <see cref="Thresholds"/> is null. Default 0.5.</summary>
    public float Threshold { get; init; } = Evaluation.ThresholdOptions.DefaultThreshold;

    /// <summary>
    /// The preprocessing recorded in the model (what the scorer applies); null (default) for the
    /// network's own at <see cref="ImageSize"/> (TResNet: RGB in [0, 1], no mean/std). Its size must be
    /// <see cref="ImageSize"/>.
    /// </summary>
    public ImagePreprocessing? Preprocessing { get; init; }

    /// <summary>
    /// Weights and arithmetic of the network part. Default <see cref="OnnxPrecision.Float32"/>;
    /// <see cref="OnnxPrecision.Float16"/> for GPU scoring (inputs and outputs stay float32; scores agree
    /// with the float32 model within about 1e-2).
    /// </summary>
    public OnnxPrecision Precision { get; init; } = OnnxPrecision.Float32;

    /// <summary>Whether the graph also outputs the logits. Default false.</summary>
    public bool IncludeLogits { get; init; }
}
