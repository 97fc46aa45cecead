using Miil.ML.Onnx.Graphs;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Models.Layers;

/// <summary>
/// Squeeze-and-excitation: spatial mean, 1x1 convolution to the reduced width, ReLU, 1x1 convolution
/// back, sigmoid, channel-wise scale (the TResNet reference's <c>SEModule</c>; keys <c>fc1</c>, <c>fc2</c>).
/// </summary>
internal sealed class SqueezeExcite : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    private readonly Conv2d fc1;
    private readonly Conv2d fc2;

    public SqueezeExcite(long channels, long reducedChannels)
        : base(nameof(SqueezeExcite))
    {
        fc1 = nn.Conv2d(channels, reducedChannels, kernel_size: 1, bias: true);
        fc2 = nn.Conv2d(reducedChannels, channels, kernel_size: 1, bias: true);
        register_module(nameof(fc1), fc1);
        register_module(nameof(fc2), fc2);
    }

    public override Tensor forward(Tensor x)
    {
        Tensor squeezed = x.mean([2, 3], keepdim: true);
        Tensor weights = fc2.call(nn.functional.relu(fc1.call(squeezed))).sigmoid();
        return x * weights;
    }

    public string ToOnnx(OnnxGraphBuilder graph, string input)
    {
        string Conv1x1(Conv2d conv, string x) => graph.Node("Conv", "se_fc",
            [x, OnnxTensors.Initializer(graph, "se.weight", conv.weight!), OnnxTensors.Initializer(graph, "se.bias", conv.bias!)],
            OnnxGraphBuilder.Ints("kernel_shape", 1, 1));
        string squeezed = graph.Node("GlobalAveragePool", "se_pool", [input]);
        string excited = graph.Node("Sigmoid", "se_gate", [Conv1x1(fc2, graph.Node("Relu", "se_relu", [Conv1x1(fc1, squeezed)]))]);
        return graph.Node("Mul", "se_scaled", [input, excited]);
    }
}
