using Miil.ML.Onnx.Graphs;
using Miil.ML.TorchSharp.Models.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Models.TResNet;

/// <summary>
/// TResNet's BasicBlock (stages 1 and 2): 3x3 conv-norm-LeakyReLU (anti-aliased when stride 2),
/// 3x3 conv-norm, squeeze-excite, residual add, ReLU.
/// </summary>
internal sealed class BasicBlock : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    public const int Expansion = 1;

    private readonly nn.Module<Tensor, Tensor> conv1;
    private readonly ConvNormAct conv2;
    private readonly nn.Module<Tensor, Tensor>? downsample;
    private readonly SqueezeExcite? se;

    public BasicBlock(long inPlanes, long planes, int stride, nn.Module<Tensor, Tensor>? downsample, bool useSe)
        : base(nameof(BasicBlock))
    {
        conv1 = ConvNormAct.WithStride(inPlanes, planes, 3, TResNet.BlockSlope, stride);
        conv2 = new ConvNormAct(planes, planes, 3, leakySlope: null);
        this.downsample = downsample;
        se = useSe ? new SqueezeExcite(planes * Expansion, Math.Max(planes * Expansion / 4, 64)) : null;
        Residual.Register(this, [(nameof(conv1), conv1), (nameof(conv2), conv2)], downsample, se);
    }

    /// <summary>The norm that ends the residual branch (zero-initialised).</summary>
    internal BatchNormAct2d LastNorm => conv2.Norm;

    public override Tensor forward(Tensor x)
    {
        // The shortcut first, as the reference: the order of the two branches is the order autograd sums their gradients in.
        Tensor shortcut = downsample is null ? x : downsample.call(x);
        Tensor y = conv2.call(conv1.call(x));
        return Residual.Finish(se is null ? y : se.call(y), shortcut);
    }

    public string ToOnnx(OnnxGraphBuilder graph, string input)
    {
        string y = conv2.ToOnnx(graph, ((IOnnxExportable)conv1).ToOnnx(graph, input));
        return Residual.FinishOnnx(graph, se is null ? y : se.ToOnnx(graph, y), downsample is null ? input : ((IOnnxExportable)downsample).ToOnnx(graph, input));
    }
}
