using Miil.ML.TorchSharp.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Tests.Training;

/// <summary>Our Adam against libtorch's own <c>torch.optim.Adam</c> / <c>AdamW</c> on the same parameters and gradients.</summary>
[TestClass]
public sealed class AdamOptimizerTests
{
    [TestMethod]
    [DataRow(WeightDecayKind.CoupledL2)]
    [DataRow(WeightDecayKind.Decoupled)]
    public void MatchesLibTorchOverSeveralSteps(WeightDecayKind kind)
    {
        const double lr = 1e-2, beta1 = 0.9, decay = 0.1;
        using var generator = new Generator(7);
        using Tensor initial = randn([4, 3], generator: generator);
        using var ours = new Parameter(initial.clone());
        using var theirs = new Parameter(initial.clone());
        using var adam = new AdamOptimizer([("w", ours, true)], decay, kind);
        using optim.Optimizer reference = kind == WeightDecayKind.CoupledL2
            ? optim.Adam([theirs], lr, beta1, AdamOptimizer.Beta2, AdamOptimizer.Epsilon, decay)
            : optim.AdamW([theirs], lr, beta1, AdamOptimizer.Beta2, AdamOptimizer.Epsilon, decay);
        for (int step = 0; step < 6; step++)
        {
            using Tensor target = randn([4, 3], generator: generator);
            foreach (Parameter p in new[] { ours, theirs })
            {
                p.grad?.zero_();
                using Tensor loss = (p - target).pow(2).sum();
                loss.backward();
            }
            adam.Step(lr, beta1);
            reference.step();
        }
        float maxDifference = (ours - theirs).abs().max().item<float>();
        Bounds.Below(1e-6f, maxDifference, $"max |ours - libtorch| = {maxDifference}");
        Assert.IsGreaterThan(0.01f, (ours - initial).abs().max().item<float>(), "the parameters moved");
    }

    [TestMethod]
    public void DecaysWeightsButNotBiasesOrNormParameters()
    {
        using var weight = new Parameter(ones(3, 3));
        using var vector = new Parameter(ones(3));
        Assert.IsTrue(AdamOptimizer.Decays("layer.0.weight", weight));
        Assert.IsFalse(AdamOptimizer.Decays("layer.1.weight", vector), "1-D (norm scale)");
        Assert.IsFalse(AdamOptimizer.Decays("head.fc.bias", weight), "bias by name");
    }

    [TestMethod]
    public void RestoresItsStateExactly()
    {
        using var a = new Parameter(ones(2, 2));
        using var b = new Parameter(ones(2, 2));
        using var first = new AdamOptimizer([("w", a, true)], 0.01, WeightDecayKind.CoupledL2);
        using var second = new AdamOptimizer([("w", b, true)], 0.01, WeightDecayKind.CoupledL2);
        foreach ((Parameter p, AdamOptimizer o) in new[] { (a, first), (b, second) })
        {
            using Tensor loss = (p * p).sum();
            loss.backward();
        }
        first.Step(0.1, 0.9);
        second.Restore(first.State().ToDictionary(s => s.Name, s => s.Tensor), first.StepCount, "test");
        b.detach().copy_(a.detach());
        first.Step(0.1, 0.9);
        second.Step(0.1, 0.9);
        Assert.IsTrue(a.eq(b).all().item<bool>());
        Assert.AreEqual(2, second.StepCount);
    }
}
