using Google.Protobuf;
using Miil.ML.Images;
using Miil.ML.IO;
using Miil.ML.Onnx;
using Miil.ML.Onnx.Graphs;
using Miil.ML.TorchSharp.Models;
using Onnx;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Export;

/// <summary>
/// Writes a <see cref="MultiLabelNetwork"/> as an ONNX model of <see cref="OnnxModelContract"/> for ONNX
/// Runtime (GPU or CPU) and ML.NET's ONNX transformer: the network's blocks write their own nodes (batch
/// norm folded into the convolutions), and the contract adds <c>Score</c>, <c>PredictedLabels</c>
/// (per-class thresholds in the graph), optionally <c>logits</c>, and the metadata (class names,
/// thresholds, preprocessing record, network description). Batch dimension dynamic, spatial size fixed.
/// </summary>
internal static class OnnxExporter
{
    /// <summary>Exports <paramref name="network"/> to ONNX bytes (read in eval semantics and left unchanged).</summary>
    /// <param name="network">The network.</param>
    /// <param name="options">Size, classes, thresholds, preprocessing.</param>
    /// <exception cref="ArgumentException">Options that do not fit the network (class names or thresholds of the wrong count, an image size the network cannot take, a preprocessing record of another size).</exception>
    public static byte[] Export(MultiLabelNetwork network, OnnxExportOptions? options = null)
        => Build(network, options ?? new OnnxExportOptions()).ToByteArray();

    /// <summary>Exports <paramref name="network"/> to <paramref name="path"/> through a temporary file and a rename.</summary>
    /// <param name="network">The network.</param>
    /// <param name="path">The .onnx file to write.</param>
    /// <param name="options">Size, classes, thresholds, preprocessing.</param>
    public static void Export(MultiLabelNetwork network, string path, OnnxExportOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] bytes = Export(network, options);
        AtomicFile.Write(path, stream => stream.Write(bytes));
    }

    internal static ModelProto Build(MultiLabelNetwork network, OnnxExportOptions options)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(options);
        int classes = network.ClassCount;
        if (options.ImageSize < network.InputSizeStep || options.ImageSize % network.InputSizeStep != 0)
        {
            throw new ArgumentException($"{network.Family} needs an image size that is a positive multiple of {network.InputSizeStep}; got {options.ImageSize}.", nameof(options));
        }
        if (network.InChannels != 3)
        {
            throw new ArgumentException($"The ONNX contract takes 3-channel images; this {network.Family} reads {network.InChannels} channels.", nameof(network));
        }
        ImagePreprocessing preprocessing = options.Preprocessing ?? network.Preprocessing(options.ImageSize);
        if (preprocessing.ImageSize != options.ImageSize)
        {
            throw new ArgumentException($"The preprocessing record is for {preprocessing.ImageSize} px but the graph is built for {options.ImageSize} px.", nameof(options));
        }
        var description = new MultiLabelOnnxModel
        {
            ClassNames = options.ClassNames ?? Enumerable.Range(0, classes).Select(i => $"class_{i}").ToList(),
            Thresholds = options.Thresholds ?? Enumerable.Repeat(options.Threshold, classes).ToList(),
            Preprocessing = preprocessing,
            Architecture = network.Describe(),
        };
        if (description.ClassNames.Count != classes)
        {
            throw new ArgumentException($"{description.ClassNames.Count} class names for a network with {classes} outputs.", nameof(options));
        }
        if (description.Thresholds.Count != classes || description.Thresholds.Any(float.IsNaN))
        {
            throw new ArgumentException($"Thresholds must be {classes} numbers, one per class; got {description.Thresholds.Count}.", nameof(options));
        }

        var graph = new OnnxGraphBuilder(network.Family.ToLowerInvariant());
        string logits;
        using (no_grad())
        {
            logits = network.ToOnnx(graph, OnnxModelContract.InputName, options.ImageSize);
        }
        if (options.Precision == OnnxPrecision.Float16)
        {
            logits = Float16Graph.Convert(graph.Graph, OnnxModelContract.InputName, logits);
        }
        return OnnxModelContract.Complete(graph, logits, description, options.IncludeLogits,
            producer: typeof(OnnxExporter).Assembly.GetName().Name ?? "Miil.ML.TorchSharp",
            description: $"{network.Family} with {classes} classes, exported for {options.ImageSize} x {options.ImageSize} inputs"
                + (options.Precision == OnnxPrecision.Float16 ? ", float16 weights and arithmetic." : "."));
    }
}
