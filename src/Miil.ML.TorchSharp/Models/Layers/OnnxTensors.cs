using System.Runtime.InteropServices;
using Miil.ML.Onnx.Graphs;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Models.Layers;

/// <summary>Tensors as ONNX initializers, and the ONNX nodes of TorchSharp's own modules that our blocks hold (Linear).</summary>
internal static class OnnxTensors
{
    /// <summary>A float32 initializer from a tensor of any device and type.</summary>
    public static string Initializer(OnnxGraphBuilder graph, string stem, Tensor value)
    {
        using Tensor cpu = value.detach().to(ScalarType.Float32).cpu().contiguous();
        return graph.Initializer(stem, MemoryMarshal.Cast<byte, float>(cpu.bytes), cpu.shape);
    }

    /// <summary>
    /// A convolution with the batch norm after it folded in (in float64; <see cref="BatchNormAct2d.FoldInto"/>),
    /// then the norm's activation: ReLU for a slope of 0, LeakyReLU for another, none for null.
    /// </summary>
    public static string ConvNorm(OnnxGraphBuilder graph, AlignedConv2d conv, BatchNormAct2d norm, string input)
    {
        (Tensor weight, Tensor bias) = norm.FoldInto(conv.Weight);
        using (weight)
        using (bias)
        {
            long kh = conv.Weight.shape[2], kw = conv.Weight.shape[3], padding = conv.Padding;
            string y = graph.Node("Conv", "conv", [input, Initializer(graph, "conv.weight", weight), Initializer(graph, "conv.bias", bias)],
                OnnxGraphBuilder.Ints("kernel_shape", kh, kw), OnnxGraphBuilder.Ints("pads", padding, padding, padding, padding), OnnxGraphBuilder.Ints("strides", conv.Stride, conv.Stride));
            return norm.LeakySlope switch
            {
                null => y,
                0 => graph.Node("Relu", "act", [y]),
                double slope => graph.Node("LeakyRelu", "act", [y], OnnxGraphBuilder.Float("alpha", (float)slope)),
            };
        }
    }

    /// <summary>
    /// A linear map over the last axis of an input of any rank (Gemm takes two): MatMul by the transposed
    /// weight (transposed here, so the graph holds it as MatMul wants it) and Add of the bias.
    /// </summary>
    public static string Linear(OnnxGraphBuilder graph, string stem, Tensor weight, Tensor? bias, string input)
    {
        using Tensor transposed = weight.detach().t();
        string y = graph.Node("MatMul", stem, [input, Initializer(graph, stem + ".weight", transposed)]);
        return bias is null ? y : graph.Node("Add", stem + "_bias", [y, Initializer(graph, stem + ".bias", bias)]);
    }

    /// <summary>Layer normalisation over the last axis (opset 17's LayerNormalization).</summary>
    public static string LayerNorm(OnnxGraphBuilder graph, string stem, LayerNorm norm, string input)
        => graph.Node("LayerNormalization", stem, [input, Initializer(graph, stem + ".weight", norm.weight!), Initializer(graph, stem + ".bias", norm.bias!)],
            OnnxGraphBuilder.Int("axis", -1), OnnxGraphBuilder.Float("epsilon", (float)norm.eps));

    /// <summary>A linear layer as Gemm (weights transposed in the node, as PyTorch stores them).</summary>
    public static string Gemm(OnnxGraphBuilder graph, Linear linear, string input)
        => graph.Node("Gemm", "fc", [input, Initializer(graph, "fc.weight", linear.weight!), Initializer(graph, "fc.bias", linear.bias!)],
            OnnxGraphBuilder.Int("transB", 1));
}
