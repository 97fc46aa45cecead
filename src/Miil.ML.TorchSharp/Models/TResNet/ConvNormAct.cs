using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Models.TResNet;

/// <summary>
/// The reference's <c>conv2d_ABN</c>: convolution without bias (padding k/2) then
/// <see cref="BatchNormAct2d"/>, as a sequence so that its keys are <c>0.weight</c> and
/// <c>1.*</c>.
/// </summary>
internal static class ConvNormAct
{
    /// <summary>LeakyReLU slope of the stem convolution.</summary>
    public const double StemSlope = 1e-2;

    /// <summary>LeakyReLU slope inside the residual blocks.</summary>
    public const double BlockSlope = 1e-3;

    public static nn.Module<Tensor, Tensor> Create(long inChannels, long outChannels, long kernelSize, double? leakySlope)
        => nn.Sequential(
            ("0", nn.Conv2d(inChannels, outChannels, kernel_size: kernelSize, stride: 1, padding: kernelSize / 2, bias: false)),
            ("1", new BatchNormAct2d(outChannels, leakySlope)));

    /// <summary>
    /// A unit at stride 1, or at stride 2 as the reference does it: the unit at stride 1 followed by
    /// anti-aliased downsampling (keys <c>0.0.*</c>, <c>0.1.*</c>), never a strided convolution.
    /// </summary>
    public static nn.Module<Tensor, Tensor> Create(long inChannels, long outChannels, long kernelSize, double? leakySlope, int stride)
        => stride == 1
            ? Create(inChannels, outChannels, kernelSize, leakySlope)
            : nn.Sequential(("0", Create(inChannels, outChannels, kernelSize, leakySlope)), ("1", new AntiAliasDownsample(outChannels)));

    /// <summary>The norm of a unit made by <see cref="Create(long, long, long, double?)"/>.</summary>
    public static BatchNormAct2d NormOf(nn.Module<Tensor, Tensor> unit)
        => (BatchNormAct2d)((nn.Module)unit).named_children().Single(c => c.name == "1").module;
}
