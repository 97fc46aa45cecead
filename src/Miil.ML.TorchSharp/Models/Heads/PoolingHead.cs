using Miil.ML.Onnx.Graphs;
using Miil.ML.TorchSharp.Models.Layers;
using Miil.ML.TorchSharp.Models.TResNet;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Models.Heads;

/// <summary>
/// Global average pooling then the classifier <c>fc</c>: a linear layer, or the Open Images checkpoint's
/// bottleneck head. Its keys are <c>fc.*</c>, the reference's <c>head.fc.*</c> under a network's head.
/// </summary>
internal sealed class PoolingHead : ClassifierHeadModule
{
    private readonly nn.Module<Tensor, Tensor> fc;
    private readonly int _classCount;

    public PoolingHead(int featureCount, int classCount, int? bottleneckFeatures)
        : base(nameof(PoolingHead))
    {
        _classCount = classCount;
        BottleneckFeatures = bottleneckFeatures;
        fc = bottleneckFeatures is int width ? new BottleneckHead(featureCount, classCount, width) : nn.Linear(featureCount, classCount);
        register_module(nameof(fc), fc);
    }

    public override ClassifierHead Kind => ClassifierHead.Pooling;

    public override int ClassCount => _classCount;

    /// <summary>Width of a bottleneck head, or null for a linear one.</summary>
    public int? BottleneckFeatures { get; }

    public override Tensor forward(Tensor x) => fc.call(x.mean([2, 3]));

    public override string ToOnnx(OnnxGraphBuilder graph, string input)
    {
        string features = graph.Node("Flatten", "features", [graph.Node("GlobalAveragePool", "pooled", [input])], OnnxGraphBuilder.Int("axis", 1));
        return fc is BottleneckHead bottleneck ? bottleneck.ToOnnx(graph, features) : OnnxTensors.Gemm(graph, (Linear)fc, features);
    }
}
