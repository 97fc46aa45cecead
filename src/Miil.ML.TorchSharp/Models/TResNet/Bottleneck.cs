using Miil.ML.Onnx.Graphs;
using Miil.ML.TorchSharp.Models.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Models.TResNet;

/// <summary>
/// TResNet's Bottleneck (stages 3 and 4): 1x1 conv-norm-LeakyReLU to the narrow width, 3x3
/// conv-norm-LeakyReLU (anti-aliased when stride 2), squeeze-excite on the narrow width, 1x1
/// conv-norm to 4x the width, residual add, ReLU.
/// </summary>
internal sealed class Bottleneck : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    public const int Expansion = 4;

    private readonly ConvNormAct conv1;
    private readonly nn.Module<Tensor, Tensor> conv2;
    private readonly ConvNormAct conv3;
    private readonly nn.Module<Tensor, Tensor>? downsample;
    private readonly SqueezeExcite? se;

    public Bottleneck(long inPlanes, long planes, int stride, nn.Module<Tensor, Tensor>? downsample, bool useSe)
        : base(nameof(Bottleneck))
    {
        conv1 = new ConvNormAct(inPlanes, planes, 1, TResNet.BlockSlope);
        conv2 = ConvNormAct.WithStride(planes, planes, 3, TResNet.BlockSlope, stride);
        conv3 = new ConvNormAct(planes, planes * Expansion, 1, leakySlope: null);
        this.downsample = downsample;
        se = useSe ? new SqueezeExcite(planes, Math.Max(planes * Expansion / 8, 64)) : null;
        Residual.Register(this, [(nameof(conv1), conv1), (nameof(conv2), conv2), (nameof(conv3), conv3)], downsample, se);
    }

    /// <summary>The norm that ends the residual branch (zero-initialised).</summary>
    internal BatchNormAct2d LastNorm => conv3.Norm;

    public override Tensor forward(Tensor x)
    {
        // The shortcut first, as the reference: the order of the two branches is the order autograd sums their gradients in.
        Tensor shortcut = downsample is null ? x : downsample.call(x);
        Tensor y = conv2.call(conv1.call(x));
        y = conv3.call(se is null ? y : se.call(y));
        return Residual.Finish(y, shortcut);
    }

    public string ToOnnx(OnnxGraphBuilder graph, string input)
    {
        string y = ((IOnnxExportable)conv2).ToOnnx(graph, conv1.ToOnnx(graph, input));
        y = conv3.ToOnnx(graph, se is null ? y : se.ToOnnx(graph, y));
        return Residual.FinishOnnx(graph, y, downsample is null ? input : ((IOnnxExportable)downsample).ToOnnx(graph, input));
    }
}
