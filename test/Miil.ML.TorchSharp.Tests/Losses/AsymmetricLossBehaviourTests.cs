using Miil.ML.TorchSharp.Losses;
using Miil.ML.Testing;
using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Tests.Losses;

/// <summary>
/// The special cases REFERENCE.md names (BCE, focal), extreme logits, the ignore option, reductions,
/// precision promotion and input errors.
/// </summary>
[TestClass]
public sealed class AsymmetricLossBehaviourTests
{
    [TestMethod]
    public void NoFocusingNoClipIsSummedBinaryCrossEntropy()
    {
        using var scope = NewDisposeScope();
        (Tensor z, Tensor y) = Batch(32, 80, seed: 1, scale: 3); // |z| stays well below 18, where the 1e-8 clamp would bite
        Tensor ours = new AsymmetricLoss(AsymmetricLossOptions.BinaryCrossEntropy).forward(z, y);
        Tensor bce = nn.functional.binary_cross_entropy_with_logits(z, y, reduction: nn.Reduction.Sum);
        Tolerance.Float64.AssertClose(bce.item<double>(), ours.item<double>(), "ASL(0, 0, 0) vs BCE");
    }

    [TestMethod]
    public void EqualGammasWithoutClipIsFocalLoss()
    {
        foreach (double gamma in new[] { 1.0, 2.0, 2.5 })
        {
            using var scope = NewDisposeScope();
            (Tensor z, Tensor y) = Batch(16, 20, seed: 2, scale: 5);
            Tensor ours = new AsymmetricLoss(new AsymmetricLossOptions { GammaNeg = gamma, GammaPos = gamma, Clip = 0 }).forward(z, y);
            Tensor p = z.sigmoid();
            Tensor focal = -(y * (1 - p).pow(gamma) * p.log() + (1 - y) * p.pow(gamma) * (1 - p).log()).sum();
            Tolerance.Float64.AssertClose(focal.item<double>(), ours.item<double>(), $"ASL({gamma}, {gamma}, 0) vs focal");
        }
    }

    [TestMethod]
    public void ExtremeLogitsGiveFiniteLossAndGradient()
    {
        foreach (ScalarType dtype in new[] { ScalarType.Float32, ScalarType.Float64 })
        {
            foreach (bool detach in new[] { true, false })
            {
                using var scope = NewDisposeScope();
                Tensor z = tensor(new[] { -1e4, -100, -30, -17, 0, 17, 30, 100, 1e4, -1e4, 1e4, 0 }, [2, 6]).to(dtype).requires_grad_();
                Tensor y = tensor(new[] { 1.0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0 }, [2, 6]).to(dtype);
                Tensor value = new AsymmetricLoss(new AsymmetricLossOptions { DetachFocalWeight = detach, GammaPos = 1 }).forward(z, y);
                value.backward();
                Assert.IsTrue(value.isfinite().all().item<bool>(), $"{dtype} detach={detach}: loss {value.item<double>()}");
                Assert.IsTrue(z.grad!.isfinite().all().item<bool>(), $"{dtype} detach={detach}: gradient not finite");
            }
        }
    }

    [TestMethod]
    public void EasyNegativesBelowTheMarginContributeNothing()
    {
        using var scope = NewDisposeScope();
        // p = sigmoid(-4) = 0.018 < clip 0.05: shifted to zero.
        Tensor z = tensor(new[] { -4.0, -5.0 }, [1, 2]).requires_grad_();
        Tensor value = new AsymmetricLoss().forward(z, zeros(1, 2, float64));
        value.backward();
        Assert.AreEqual(0.0, value.item<double>());
        Assert.AreEqual(0.0, z.grad!.abs().sum().item<double>());
    }

    [TestMethod]
    public void IgnoredTargetsContributeNothing()
    {
        {
            using var scope = NewDisposeScope();
            (Tensor z, Tensor y) = Batch(8, 12, seed: 3, scale: 4);
            Tensor ignored = rand(8, 12, generator: new Generator(5)).lt(0.3);
            Tensor withUnknown = y.masked_fill(ignored, -1.0);
            var options = new AsymmetricLossOptions { IgnoreLabel = true, DetachFocalWeight = false };

            Tensor zg = z.detach().requires_grad_();
            Tensor value = new AsymmetricLoss(options).forward(zg, withUnknown);
            value.backward();

            Tensor elements = new AsymmetricLoss(options with { Reduction = LossReduction.None, IgnoreLabel = false }).forward(z, y);
            double expected = elements.masked_fill(ignored, 0.0).sum().item<double>();
            Tolerance.Float64.AssertClose(expected, value.item<double>(), "sum over the known targets");
            Assert.AreEqual(0.0, zg.grad!.masked_select(ignored).abs().sum().item<double>(), "gradient at ignored targets");
            Assert.IsGreaterThan(0.0, zg.grad!.masked_select(ignored.logical_not()).abs().sum().item<double>());

            double mean = new AsymmetricLoss(options with { Reduction = LossReduction.Mean }).forward(z, withUnknown).item<double>();
            long known = ignored.logical_not().sum().item<long>();
            Tolerance.Float64.AssertClose(expected / known, mean, "mean over the known targets");
        }
    }

    [TestMethod]
    public void MinusOneWithoutIgnoreLabelIsAnError()
    {
        Tensor y = tensor(new[] { 1.0, -1.0 }, [1, 2]);
        var e = Assert.ThrowsExactly<ArgumentException>(() => new AsymmetricLoss().forward(zeros(1, 2), y));
        StringAssert.Contains(e.Message, "flat index 1");
        StringAssert.Contains(e.Message, "IgnoreLabel");
        Assert.AreEqual("targets", e.ParamName);
    }

    [TestMethod]
    public void ReductionsScaleValueAndGradient()
    {
        {
            (Tensor z, Tensor y) = Batch(6, 7, seed: 4, scale: 3);
            (double sum, double[] sumGrad) = ValueAndGrad(z, y, LossReduction.Sum);
            (double mean, double[] meanGrad) = ValueAndGrad(z, y, LossReduction.Mean);
            (double batchMean, double[] batchGrad) = ValueAndGrad(z, y, LossReduction.BatchMean);
            Tolerance.Float64.AssertClose(sum / 42, mean, "mean");
            Tolerance.Float64.AssertClose(sum / 6, batchMean, "batch mean");
            Tolerance.Float64.AssertClose(sumGrad.Select(g => g / 42).ToArray(), meanGrad, "mean gradient");
            Tolerance.Float64.AssertClose(sumGrad.Select(g => g / 6).ToArray(), batchGrad, "batch-mean gradient");

            Tensor zg = z.detach().requires_grad_();
            Tensor elements = new AsymmetricLoss(new AsymmetricLossOptions { Reduction = LossReduction.None }).forward(zg, y);
            CollectionAssert.AreEqual(z.shape, elements.shape);
            Tolerance.Float64.AssertClose(sum, elements.sum().item<double>(), "elements add up to the sum");
            (elements * 2).sum().backward();
            Tolerance.Float64.AssertClose(sumGrad.Select(g => 2 * g).ToArray(), AsymmetricLossGoldenTests.Flat(zg.grad!), "element gradient times upstream gradient");
        }
    }

    [TestMethod]
    public void Float32FollowsFloat64AndRepeatsExactly()
    {
        // Large random logits, and vectors of easy negatives far below the clip margin (as late in
        // training). The float64 reference gets the same float32-rounded logits, so the two differ by
        // the float32 pass's own roundings: about 20 per element (relative 2^-24 each), of which the one
        // in 1 - p is absolute (cancellation) and is divided by the shifted probability (at least the
        // clip, 0.02 here) and scaled by up to gamma + 1 = 5: 250 x 2^-24 = 1.5e-5 absolute per gradient
        // element; the sum adds gamma_n. The bounds still fail for a wrong formula or precision.
        var generator = new Generator(9);
        Tensor easyTargets = rand(32, 200, float64, generator: generator).lt(0.03).to(float64);
        Tensor easyLogits = randn(32, 200, float64, generator: generator) + easyTargets * 7 - 6;
        (Tensor z, Tensor y) random = Batch(64, 1000, seed: 6, scale: 8);
        var valueTolerance = new Tolerance(1e-6, 1e-4);
        var gradientTolerance = new Tolerance(250 * Math.Pow(2, -24), 1e-4);
        foreach ((Tensor z64, Tensor y) in new[] { random, (easyLogits, easyTargets) })
        {
            Tensor z = z64.to(ScalarType.Float32);
            foreach (AsymmetricLossOptions options in new[] { new AsymmetricLossOptions(), new AsymmetricLossOptions { DetachFocalWeight = false, GammaPos = 1, Clip = 0.02 } })
            {
                (double exact, double[] exactGrad) = ValueAndGrad(z.to(ScalarType.Float64), y, options);
                (double value, double[] grad) = ValueAndGrad(z, y.to(ScalarType.Float32), options);
                valueTolerance.AssertClose(exact, value, "float32 value");
                gradientTolerance.AssertClose(exactGrad, grad, "float32 gradient");
                (double again, double[] againGrad) = ValueAndGrad(z, y.to(ScalarType.Float32), options);
                Assert.AreEqual(value, again, "deterministic across runs");
                CollectionAssert.AreEqual(grad, againGrad);
            }
        }
    }

    [TestMethod]
    public void HalfPrecisionIsPromotedToFloat32()
    {
        foreach (ScalarType half in new[] { ScalarType.Float16, ScalarType.BFloat16 })
        {
            using var scope = NewDisposeScope();
            (Tensor z, Tensor y) = Batch(4, 9, seed: 7, scale: 4);
            Tensor zh = z.to(half).requires_grad_();
            Tensor value = new AsymmetricLoss().forward(zh, y);
            Assert.AreEqual(ScalarType.Float32, value.dtype);
            double expected = new AsymmetricLoss().forward(zh.detach().to(ScalarType.Float32), y).item<float>();
            Assert.AreEqual(expected, value.item<float>(), $"{half}: same as the float32 computation");
            value.backward();
            Assert.AreEqual(half, zh.grad!.dtype, "the gradient flows back to the half-precision logits");
        }
    }

    [TestMethod]
    public void BadInputsGiveClearErrors()
    {
        var loss = new AsymmetricLoss();
        var shape = Assert.ThrowsExactly<ArgumentException>(() => loss.forward(zeros(2, 3), zeros(2, 4)));
        StringAssert.Contains(shape.Message, "[2, 4]");
        StringAssert.Contains(shape.Message, "[2, 3]");

        var fraction = Assert.ThrowsExactly<ArgumentException>(() => loss.forward(zeros(2, 3), full(2, 3, 0.5)));
        StringAssert.Contains(fraction.Message, "0.5");

        foreach (double bad in new[] { double.NaN, double.PositiveInfinity })
        {
            Tensor z = zeros(2, 3);
            z[1, 2] = bad;
            var e = Assert.ThrowsExactly<ArgumentException>(() => loss.forward(z, zeros(2, 3)));
            StringAssert.Contains(e.Message, "flat index 5");
            Assert.AreEqual("logits", e.ParamName);
        }

        var integer = Assert.ThrowsExactly<ArgumentException>(() => loss.forward(zeros(2, 3, ScalarType.Int32), zeros(2, 3)));
        StringAssert.Contains(integer.Message, "floating point");

        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new AsymmetricLoss(new AsymmetricLossOptions { Clip = 1 }));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new AsymmetricLoss(new AsymmetricLossOptions { GammaNeg = -1 }));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new AsymmetricLoss(new AsymmetricLossOptions { Eps = 0 }));
    }

    [TestMethod]
    public void SingleLabelRejectsBadTargets()
    {
        var loss = new AsymmetricLossSingleLabel();
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => loss.forward(zeros(3, 4), tensor(new long[] { 0, 4, 1 }))).Message, "[0, 3]");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => loss.forward(zeros(3, 4), tensor(new long[] { 0, 1 }))).Message, "3 class indices");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => loss.forward(zeros(3), tensor(new long[] { 0, 1, 2 }))).Message, "N x C");
    }

    [TestMethod]
    public void DefaultsAreTheReferenceRecipe()
    {
        var recipe = new AsymmetricLossOptions();
        Assert.AreEqual((4.0, 0.0, 0.05, 1e-8, true, LossReduction.Sum, false),
            (recipe.GammaNeg, recipe.GammaPos, recipe.Clip, recipe.Eps, recipe.DetachFocalWeight, recipe.Reduction, recipe.IgnoreLabel));
        Assert.AreEqual(1.0, AsymmetricLossOptions.ReferenceClassDefaults.GammaPos);
        var single = new AsymmetricLossSingleLabelOptions();
        Assert.AreEqual((0.0, 4.0, 0.1, LossReduction.Mean), (single.GammaPos, single.GammaNeg, single.LabelSmoothing, single.Reduction));
    }

    private static (double Value, double[] Grad) ValueAndGrad(Tensor z, Tensor y, LossReduction reduction)
        => ValueAndGrad(z, y, new AsymmetricLossOptions { Reduction = reduction });

    private static (double Value, double[] Grad) ValueAndGrad(Tensor z, Tensor y, AsymmetricLossOptions options)
    {
        using var scope = NewDisposeScope();
        Tensor zg = z.detach().clone().requires_grad_();
        Tensor value = new AsymmetricLoss(options).forward(zg, y);
        value.backward();
        return (value.to(ScalarType.Float64).item<double>(), AsymmetricLossGoldenTests.Flat(zg.grad!));
    }

    /// <summary>Random logits (normal x scale) and targets with about 10 % positives.</summary>
    private static (Tensor Logits, Tensor Targets) Batch(long n, long c, long seed, double scale, ScalarType dtype = ScalarType.Float64)
    {
        var generator = new Generator((ulong)seed);
        Tensor z = (randn(n, c, float64, generator: generator) * scale).to(dtype);
        Tensor y = rand(n, c, float64, generator: generator).lt(0.1).to(dtype);
        return (z, y);
    }
}
