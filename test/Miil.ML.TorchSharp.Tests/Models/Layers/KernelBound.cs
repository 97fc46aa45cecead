using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Tests.Models.Layers;

/// <summary>
/// A kernel's results against float64, element by element, under the bound the arithmetic gives. Inputs
/// are drawn exact in the kernel's type. A sum of n products computed in float32 is off by at most
/// gamma_n = n u32 / (1 - n u32) times the sum of their magnitudes (u32 = 2^-24; Higham, Accuracy and
/// Stability of Numerical Algorithms, 3.1: any summation order, blocking or thread split, so on every
/// CPU), and a bfloat16 result adds at most u = 2^-8 of it when rounded (its inputs' products are exact in
/// float32: 8 + 8 significant bits). So |computed - exact| &lt;= (u + gamma_n) sum|a||b|, where sum|a||b|
/// is the same operation on magnitudes, computed in float64. A kernel that returns wrong numbers or sums
/// in bfloat16 fails it.
/// </summary>
internal static class KernelBound
{
    private const double Float32UnitRoundoff = 1.0 / 16777216; // 24 significant bits

    /// <summary>Rounding of the result to <paramref name="type"/>: 2^-8 for bfloat16, none beyond gamma_n for float32.</summary>
    private static double ResultRoundoff(ScalarType type) => type == ScalarType.BFloat16 ? 1.0 / 256 : 0;

    /// <summary>
    /// Output, input gradient (when <paramref name="inputGradient"/>) and weight gradient of
    /// <paramref name="op"/>(a, b) in <paramref name="type"/> against float64, each under (u + gamma_n) |op|(|a|, |b|)
    /// with n = <paramref name="reduction"/>, the longest sum any of them takes.
    /// </summary>
    public static void CheckBilinear(string what, ScalarType type, Func<Tensor, Tensor, Tensor> op, long[] aShape, long[] bShape, long reduction, bool inputGradient)
    {
        using var scope = NewDisposeScope();
        Tensor a = ExactIn(type, randn(aShape, ScalarType.Float64, generator: new Generator(1)));
        Tensor b = ExactIn(type, randn(bShape, ScalarType.Float64, generator: new Generator(2)) * 0.1);
        Tensor upstream = ExactIn(type, randn(op(a, b).shape, ScalarType.Float64, generator: new Generator(3)));

        Tensor aLow = a.to(type).requires_grad_(inputGradient), bLow = b.to(type).requires_grad_(true);
        Tensor computed = op(aLow, bLow);
        (computed * upstream.to(type)).sum().backward();

        Tensor a64 = a.clone().requires_grad_(true), b64 = b.clone().requires_grad_(true);
        Tensor exact = op(a64, b64);
        (exact * upstream).sum().backward();

        // The same operation on magnitudes: its value bounds the forward sums, its gradients the backward ones.
        Tensor aAbs = a.abs().requires_grad_(true), bAbs = b.abs().requires_grad_(true);
        Tensor magnitude = op(aAbs, bAbs);
        (magnitude * upstream.abs()).sum().backward();

        AssertWithin($"{what}: output", type, computed, exact, magnitude.detach(), reduction);
        if (inputGradient)
        {
            AssertWithin($"{what}: input gradient", type, aLow.grad!, a64.grad!, aAbs.grad!, reduction);
        }
        AssertWithin($"{what}: weight gradient", type, bLow.grad!, b64.grad!, bAbs.grad!, reduction);
    }

    /// <summary>|computed - exact| &lt;= (u + gamma_n) magnitude, element by element; the failure names the count, the worst excess and the cosine.</summary>
    public static void AssertWithin(string what, ScalarType type, Tensor computed, Tensor exact, Tensor magnitude, long reduction)
    {
        double gamma = reduction * Float32UnitRoundoff / (1 - reduction * Float32UnitRoundoff);
        Tensor difference = computed.to(ScalarType.Float64) - exact;
        Tensor excess = difference.abs() - (ResultRoundoff(type) + gamma) * magnitude;
        long violations = excess.gt(0).logical_or(difference.isfinite().logical_not()).sum().item<long>();
        if (violations > 0)
        {
            double cosine = (computed.to(ScalarType.Float64) * exact).sum().item<double>()
                / (computed.to(ScalarType.Float64).norm().item<double>() * exact.norm().item<double>());
            Assert.Fail($"{what}: {violations} of {exact.numel()} elements outside (u + gamma_{reduction}) sum|a||b| or not finite "
                + $"(worst excess {excess.nan_to_num(double.PositiveInfinity).max().item<double>():E3}; cosine to float64 {cosine:F4}).");
        }
    }

    /// <summary><paramref name="x"/> rounded to <paramref name="type"/>, back in float64.</summary>
    public static Tensor ExactIn(ScalarType type, Tensor x) => x.to(type).to(ScalarType.Float64);
}
