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

    /// <summary>A linear layer as Gemm (weights transposed in the node, as PyTorch stores them).</summary>
    public static string Gemm(OnnxGraphBuilder graph, Linear linear, string input)
        => graph.Node("Gemm", "fc", [input, Initializer(graph, "fc.weight", linear.weight!), Initializer(graph, "fc.bias", linear.bias!)],
            OnnxGraphBuilder.Int("transB", 1));
}
