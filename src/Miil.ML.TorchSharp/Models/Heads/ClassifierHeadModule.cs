using Miil.ML.Onnx.Graphs;
using Miil.ML.TorchSharp.Models.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Models.Heads;

/// <summary>
/// A head as a block (timm's <c>ClassifierHead</c>, ML_Decoder's <c>MLDecoder</c>): N x C x H x W spatial
/// features in, N x classes logits out, with its ONNX nodes next to its forward. Backbones do not know
/// which head they carry.
/// </summary>
internal abstract class ClassifierHeadModule : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    private protected ClassifierHeadModule(string name)
        : base(name)
    {
    }

    /// <summary>What this head is, as an option says it.</summary>
    public abstract ClassifierHead Kind { get; }

    /// <summary>Outputs.</summary>
    public abstract int ClassCount { get; }

    /// <summary>Builds the head <paramref name="kind"/> describes.</summary>
    public static ClassifierHeadModule Create(ClassifierHead kind, int featureCount, int classCount, int? bottleneckFeatures = null)
        => kind.IsMLDecoder
            ? new MLDecoder(featureCount, classCount, kind.QueryCount(classCount), kind.Embedding)
            : new PoolingHead(featureCount, classCount, bottleneckFeatures);

    public abstract string ToOnnx(OnnxGraphBuilder graph, string input);
}
