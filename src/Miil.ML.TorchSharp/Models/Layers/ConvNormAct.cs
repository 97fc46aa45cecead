using Miil.ML.Onnx.Graphs;
using TorchSharp;
using TorchSharp.Utils;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Models.Layers;

/// <summary>
/// Convolution without bias (padding k/2, stride 1) then <see cref="BatchNormAct2d"/>: the TResNet
/// reference's <c>conv2d_ABN</c>, with its children named <c>0</c> and <c>1</c> so that its keys are
/// <c>0.weight</c> and <c>1.*</c>. Exported as one Conv with the norm folded in, then the activation.
/// </summary>
internal sealed class ConvNormAct : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    // Registered as "0" and "1" (the reference's keys); the attribute tells TorchSharp these fields are those.
    [ComponentName(Name = "0")]
    private readonly AlignedConv2d _conv;

    [ComponentName(Name = "1")]
    private readonly BatchNormAct2d _norm;

    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="kernelSize">Square kernel side.</param>
    /// <param name="leakySlope">Slope of the LeakyReLU after the norm; null for none.</param>
    public ConvNormAct(long inChannels, long outChannels, long kernelSize, double? leakySlope)
        : base(nameof(ConvNormAct))
    {
        _conv = new AlignedConv2d(inChannels, outChannels, kernelSize, stride: 1, padding: kernelSize / 2);
        _norm = new BatchNormAct2d(outChannels, leakySlope);
        register_module("0", _conv);
        register_module("1", _norm);
    }

    /// <summary>
    /// A unit at stride 1, or at stride 2 as the TResNet reference does it: the unit at stride 1 followed
    /// by anti-aliased downsampling (keys <c>0.0.*</c>, <c>0.1.*</c>), never a strided convolution.
    /// </summary>
    public static nn.Module<Tensor, Tensor> WithStride(long inChannels, long outChannels, long kernelSize, double? leakySlope, int stride)
        => stride == 1
            ? new ConvNormAct(inChannels, outChannels, kernelSize, leakySlope)
            : new Sequence(("0", new ConvNormAct(inChannels, outChannels, kernelSize, leakySlope)), ("1", new AntiAliasDownsample(outChannels)));

    public BatchNormAct2d Norm => _norm;

    public override Tensor forward(Tensor x) => _norm.call(_conv.call(x));

    public string ToOnnx(OnnxGraphBuilder graph, string input) => OnnxTensors.ConvNorm(graph, _conv, _norm, input);
}
