using Google.Protobuf;
using Miil.ML.Images;
using Miil.ML.Onnx.Graphs;

namespace Miil.ML.Onnx.Tests;

/// <summary>
/// Small ONNX models that follow <see cref="OnnxModelContract"/>, built here so that the scorer is
/// tested apart from any network family: a 3x3 convolution at stride 2 (seeded random weights), ReLU,
/// global mean, and a linear layer to the classes, so that every score depends on the pixels.
/// </summary>
internal static class ContractModels
{
    public static byte[] Tiny(int classes, int imageSize, IReadOnlyList<string>? classNames = null, IReadOnlyList<float>? thresholds = null,
        ImagePreprocessing? preprocessing = null, int seed = 0)
    {
        var random = new Random(seed);
        float[] Values(int n, double scale) => Enumerable.Range(0, n).Select(_ => (float)((random.NextDouble() * 2 - 1) * scale)).ToArray();
        const int width = 8;
        var g = new OnnxGraphBuilder("tiny");
        string conv = g.Node("Conv", "conv", [OnnxModelContract.InputName, g.Initializer("conv.weight", Values(width * 3 * 9, 1.0), width, 3, 3, 3), g.Initializer("conv.bias", Values(width, 0.1), width)],
            OnnxGraphBuilder.Ints("kernel_shape", 3, 3), OnnxGraphBuilder.Ints("pads", 1, 1, 1, 1), OnnxGraphBuilder.Ints("strides", 2, 2));
        string pooled = g.Node("Flatten", "features", [g.Node("GlobalAveragePool", "pooled", [g.Node("Relu", "relu", [conv])])], OnnxGraphBuilder.Int("axis", 1));
        string logits = g.Node("Gemm", "fc", [pooled, g.Initializer("fc.weight", Values(classes * width, 3.0), classes, width), g.Initializer("fc.bias", Values(classes, 0.5), classes)],
            OnnxGraphBuilder.Int("transB", 1));
        var model = new MultiLabelOnnxModel
        {
            ClassNames = classNames ?? Enumerable.Range(0, classes).Select(i => $"class_{i}").ToList(),
            Thresholds = thresholds ?? Enumerable.Repeat(0.5f, classes).ToList(),
            Preprocessing = preprocessing ?? ImagePreprocessing.Unnormalized(imageSize),
        };
        return OnnxModelContract.Complete(g, logits, model, includeLogits: false, producer: "Miil.ML.Onnx.Tests", description: "tiny test model").ToByteArray();
    }
}
