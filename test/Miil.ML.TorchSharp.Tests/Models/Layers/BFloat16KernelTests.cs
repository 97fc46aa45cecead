using Miil.ML.TorchSharp.Models.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Tests.Models.Layers;

/// <summary>
/// The bfloat16 kernels our networks run (through the mixed-precision twin) against float64, element by
/// element, under the bound the arithmetic gives: inputs that are exact in bfloat16 have exact products
/// in float32 (8 + 8 significant bits), a float32 sum of n of them is off by at most
/// gamma_n = n u32 / (1 - n u32) times the sum of their magnitudes (u32 = 2^-24), and rounding the
/// result to bfloat16 adds at most u = 2^-8 of it. So |computed - exact| &lt;= (u + gamma_n) sum|a||b|,
/// where sum|a||b| is the same operation on absolute values, computed in float64. This holds for any
/// summation order, blocking or thread split, so it holds on every CPU; a kernel that returns wrong
/// numbers (oneDNN's strided depthwise backward-data kernel on AMD EPYC gave cosines of 0.26-0.31) or
/// accumulates in bfloat16 fails it.
/// </summary>
[TestClass]
public sealed class BFloat16KernelTests
{
    private const double UnitRoundoff = 1.0 / 256;            // bfloat16: 8 significant bits
    private const double Float32UnitRoundoff = 1.0 / 16777216; // float32: 24 significant bits

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
        Tensor Conv(Tensor x, Tensor w) => nn.functional.conv2d(x, w, strides: [stride, stride], padding: [padding, padding], groups: groups);
        long kernel = weightShape[1] * weightShape[2] * weightShape[3];
        long outputs = weightShape[0] / groups * weightShape[2] * weightShape[3];
        long positions = inputShape[0] * ((inputShape[2] + 2 * padding - weightShape[2]) / stride + 1) * ((inputShape[3] + 2 * padding - weightShape[3]) / stride + 1);
        CheckBilinear(what, Conv, inputShape, weightShape, Math.Max(kernel, Math.Max(outputs, positions)), inputGradient);
    }

    [TestMethod]
    public void TheLinearHeadStaysWithinItsRoundingBound()
        => CheckBilinear("linear 256 -> 5", (x, w) => nn.functional.linear(x, w), [16, 256], [5, 256], 256, inputGradient: true);

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
        Tensor x = ExactInBFloat16(randn([4, channels, side, side], ScalarType.Float64, generator: new Generator((ulong)channels)));
        Tensor exact = blurWide.call(x);
        Tensor upstream = ExactInBFloat16(randn(exact.shape, ScalarType.Float64, generator: new Generator((ulong)side)));

        Tensor input = x.to(ScalarType.BFloat16).requires_grad_(true);
        Tensor computed = blur.call(input);
        (computed * upstream.to(ScalarType.BFloat16)).sum().backward();

        Tensor wide = x.clone().requires_grad_(true);
        (blurWide.call(wide) * upstream).sum().backward();
        Tensor magnitudes = x.abs().requires_grad_(true);
        Tensor forwardMagnitude = blurWide.call(magnitudes);
        (forwardMagnitude * upstream.abs()).sum().backward();

        AssertWithin($"blur {channels}x{side}x{side} output", computed, exact, forwardMagnitude.detach(), 9);
        AssertWithin($"blur {channels}x{side}x{side} input gradient", input.grad!, wide.grad!, magnitudes.grad!, 9);
    }

    /// <summary>Output, input gradient and weight gradient of a bilinear operation against float64, each under (u + gamma_n) |op|(|a|, |b|).</summary>
    private static void CheckBilinear(string what, Func<Tensor, Tensor, Tensor> op, long[] aShape, long[] bShape, long reduction, bool inputGradient)
    {
        using var scope = NewDisposeScope();
        Tensor a = ExactInBFloat16(randn(aShape, ScalarType.Float64, generator: new Generator(1)));
        Tensor b = ExactInBFloat16(randn(bShape, ScalarType.Float64, generator: new Generator(2)) * 0.1);
        Tensor upstream = ExactInBFloat16(randn(op(a, b).shape, ScalarType.Float64, generator: new Generator(3)));

        Tensor a16 = a.to(ScalarType.BFloat16).requires_grad_(true), b16 = b.to(ScalarType.BFloat16).requires_grad_(true);
        Tensor computed = op(a16, b16);
        (computed * upstream.to(ScalarType.BFloat16)).sum().backward();

        Tensor a64 = a.clone().requires_grad_(true), b64 = b.clone().requires_grad_(true);
        Tensor exact = op(a64, b64);
        (exact * upstream).sum().backward();

        // The same operation on magnitudes: its value bounds the forward sums, its gradients the backward ones.
        Tensor aAbs = a.abs().requires_grad_(true), bAbs = b.abs().requires_grad_(true);
        Tensor magnitude = op(aAbs, bAbs);
        (magnitude * upstream.abs()).sum().backward();

        AssertWithin($"{what}: output", computed, exact, magnitude.detach(), reduction);
        if (inputGradient)
        {
            AssertWithin($"{what}: input gradient", a16.grad!, a64.grad!, aAbs.grad!, reduction);
        }
        AssertWithin($"{what}: weight gradient", b16.grad!, b64.grad!, bAbs.grad!, reduction);
    }

    private static void AssertWithin(string what, Tensor computed, Tensor exact, Tensor magnitude, long reduction)
    {
        double gamma = reduction * Float32UnitRoundoff / (1 - reduction * Float32UnitRoundoff);
        Tensor excess = (computed.to(ScalarType.Float64) - exact).abs() - (UnitRoundoff + gamma) * magnitude;
        long violations = excess.gt(0).sum().item<long>();
        if (violations > 0)
        {
            double cosine = (computed.to(ScalarType.Float64) * exact).sum().item<double>()
                / (computed.to(ScalarType.Float64).norm().item<double>() * exact.norm().item<double>());
            Assert.Fail($"{what}: {violations} of {exact.numel()} elements outside (u + gamma_{reduction}) sum|a||b| "
                + $"(worst excess {excess.max().item<double>():E3}; cosine to float64 {cosine:F4}).");
        }
    }

    private static Tensor ExactInBFloat16(Tensor x) => x.to(ScalarType.BFloat16).to(ScalarType.Float64);
}
