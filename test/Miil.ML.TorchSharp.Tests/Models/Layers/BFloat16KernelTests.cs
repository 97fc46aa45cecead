using Miil.ML.TorchSharp.Models.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Tests.Models.Layers;

/// <summary>
/// The bfloat16 kernels our networks run (through the mixed-precision twin) against float64, element by
/// element, under the bound the arithmetic gives (<see cref="KernelBound"/>): it holds for any summation
/// order, blocking or thread split, so on every CPU; a kernel that returns wrong numbers (oneDNN's strided
/// depthwise backward-data kernel on AMD EPYC gave cosines of 0.26-0.31) or accumulates in bfloat16 fails
/// it. Convolutions run as the networks run them (<see cref="AlignedConv2d"/>); unaligned widths are
/// <see cref="AlignedConv2dTests"/>' subject.
/// </summary>
[TestClass]
public sealed class BFloat16KernelTests
{
    /// <summary>
    /// A convolution as the networks use it: shapes, stride, padding, groups, and whether its input takes
    /// a gradient. A stem's input is the image, which takes none: the 7x7 stride-2 stem on three channels
    /// runs libtorch's im2col path, whose bfloat16 input gradient sums overlapping patches in bfloat16 and
    /// misses this bound (cosine 0.994), but nothing ever asks for that gradient.
    /// </summary>
    public static IEnumerable<object[]> Convolutions() =>
    [
        ["TResNet stem 3x3 after SpaceToDepth", new long[] { 8, 48, 8, 8 }, new long[] { 16, 48, 3, 3 }, 1, 1, 1, false],
        ["3x3 residual convolution", new long[] { 8, 32, 8, 8 }, new long[] { 32, 32, 3, 3 }, 1, 1, 1, true],
        ["1x1 bottleneck expansion", new long[] { 8, 64, 4, 4 }, new long[] { 256, 64, 1, 1 }, 1, 0, 1, true],
        ["7x7 stride-2 ResNet stem", new long[] { 4, 3, 32, 32 }, new long[] { 16, 3, 7, 7 }, 2, 3, 1, false],
        ["3x3 stride-2 ResNet downsampling", new long[] { 4, 32, 16, 16 }, new long[] { 64, 32, 3, 3 }, 2, 1, 1, true],
        ["1x1 stride-2 ResNet shortcut", new long[] { 4, 32, 16, 16 }, new long[] { 64, 32, 1, 1 }, 2, 0, 1, true],
    ];

    [TestMethod]
    [DynamicData(nameof(Convolutions))]
    public void ConvolutionsStayWithinTheirRoundingBound(string what, long[] inputShape, long[] weightShape, int stride, int padding, int groups, bool inputGradient)
    {
        Tensor Conv(Tensor x, Tensor w) => groups == 1 ? AlignedConv2d.Apply(x, w, stride, padding) : nn.functional.conv2d(x, w, strides: [stride, stride], padding: [padding, padding], groups: groups);
        long kernel = weightShape[1] * weightShape[2] * weightShape[3];
        long outputs = weightShape[0] / groups * weightShape[2] * weightShape[3];
        long positions = inputShape[0] * ((inputShape[2] + 2 * padding - weightShape[2]) / stride + 1) * ((inputShape[3] + 2 * padding - weightShape[3]) / stride + 1);
        KernelBound.CheckBilinear(what, ScalarType.BFloat16, Conv, inputShape, weightShape, Math.Max(kernel, Math.Max(outputs, positions)), inputGradient);
    }

    [TestMethod]
    public void TheLinearHeadStaysWithinItsRoundingBound()
        => KernelBound.CheckBilinear("linear 256 -> 5", ScalarType.BFloat16, (x, w) => nn.functional.linear(x, w), [16, 256], [5, 256], 256, inputGradient: true);

    /// <summary>
    /// The stride-2 blur of every TResNet stage: nine non-negative taps summing to one, so its magnitude
    /// operation is itself, and its reductions are 9 terms forward and at most 9 backward.
    /// </summary>
    [TestMethod]
    [DataRow(16, 8)]
    [DataRow(64, 16)]
    [DataRow(128, 7)]
    public void AntiAliasDownsampleStaysWithinItsRoundingBound(int channels, int side)
    {
        using var scope = NewDisposeScope();
        using var blur = new AntiAliasDownsample(channels);
        using var blurWide = new AntiAliasDownsample(channels);
        blurWide.to(ScalarType.Float64);
        Tensor x = KernelBound.ExactIn(ScalarType.BFloat16, randn([4, channels, side, side], ScalarType.Float64, generator: new Generator((ulong)channels)));
        Tensor exact = blurWide.call(x);
        Tensor upstream = KernelBound.ExactIn(ScalarType.BFloat16, randn(exact.shape, ScalarType.Float64, generator: new Generator((ulong)side)));

        Tensor input = x.to(ScalarType.BFloat16).requires_grad_(true);
        Tensor computed = blur.call(input);
        (computed * upstream.to(ScalarType.BFloat16)).sum().backward();

        Tensor wide = x.clone().requires_grad_(true);
        (blurWide.call(wide) * upstream).sum().backward();
        Tensor magnitudes = x.abs().requires_grad_(true);
        Tensor forwardMagnitude = blurWide.call(magnitudes);
        (forwardMagnitude * upstream.abs()).sum().backward();

        KernelBound.AssertWithin($"blur {channels}x{side}x{side} output", ScalarType.BFloat16, computed, exact, forwardMagnitude.detach(), 9);
        KernelBound.AssertWithin($"blur {channels}x{side}x{side} input gradient", ScalarType.BFloat16, input.grad!, wide.grad!, magnitudes.grad!, 9);
    }
}
