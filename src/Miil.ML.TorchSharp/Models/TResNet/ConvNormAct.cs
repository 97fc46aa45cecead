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
}
