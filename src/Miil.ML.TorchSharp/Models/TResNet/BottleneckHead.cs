using Miil.ML.Onnx.Graphs;
using Miil.ML.TorchSharp.Models.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Models.TResNet;

/// <summary>
/// The reference's <c>bottleneck_head</c> (the Open Images checkpoint's): a linear embedding of the
/// pooled features (<c>embedding_generator.0</c>, no activation) and the class layer (<c>FC</c>).
/// </summary>
internal sealed class BottleneckHead : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    private readonly Sequential embedding_generator;
    private readonly Linear FC;

    /// <summary>The layer inside <c>embedding_generator</c>, for the export; an array keeps it out of TorchSharp's field registration (it is registered there as "0").</summary>
    private readonly Linear[] _embedding;

    public BottleneckHead(long featureCount, long classCount, long bottleneckFeatures)
        : base(nameof(BottleneckHead))
    {
        _embedding = [nn.Linear(featureCount, bottleneckFeatures)];
        embedding_generator = nn.Sequential(("0", _embedding[0]));
        FC = nn.Linear(bottleneckFeatures, classCount);
        register_module(nameof(embedding_generator), embedding_generator);
        register_module(nameof(FC), FC);
    }

    public override Tensor forward(Tensor x) => FC.call(embedding_generator.call(x));

    public string ToOnnx(OnnxGraphBuilder graph, string input) => OnnxTensors.Gemm(graph, FC, OnnxTensors.Gemm(graph, _embedding[0], input));
}
