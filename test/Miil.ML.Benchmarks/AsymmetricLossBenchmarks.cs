using BenchmarkDotNet.Attributes;
using Miil.ML.TorchSharp.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.Benchmarks;

/// <summary>
/// Forward + backward of the multi-label ASL against binary cross-entropy with logits (the baseline)
/// and against the reference formula composed from tensor operations, as the PyTorch original does.
/// </summary>
[MemoryDiagnoser(displayGenColumns: false)]
public class AsymmetricLossBenchmarks
{
    private Tensor _logits = null!;
    private Tensor _targets = null!;
    private readonly AsymmetricLoss _asl = new();
    private readonly ITrainingLoss _training = TrainingLosses.Asymmetric();

    /// <summary>Batch x classes: COCO at batch 128, and Open Images' 9605 classes at batch 32.</summary>
    [Params("128x80", "32x9605")]
    public string Shape { get; set; } = "128x80";

    /// <summary>
    /// "random": logits N(0, 3^2), as early in training. "trained": negatives N(-5, 1), positives
    /// N(2, 1), as after some epochs, when most negatives are easy (p below the clip margin).
    /// </summary>
    [Params("random", "trained")]
    public string Logits { get; set; } = "random";

    [GlobalSetup]
    public void Setup()
    {
        long[] size = Shape.Split('x').Select(long.Parse).ToArray();
        var generator = new Generator(0);
        _targets = rand(size, generator: generator).lt(0.05).to(ScalarType.Float32);
        Tensor noise = randn(size, generator: generator);
        _logits = Logits == "trained" ? noise + _targets * 7 - 5 : noise * 3;
    }

    [Benchmark(Baseline = true, Description = "BCE with logits")]
    public float BinaryCrossEntropy()
    {
        using var scope = NewDisposeScope();
        Tensor z = _logits.detach().requires_grad_();
        Tensor loss = nn.functional.binary_cross_entropy_with_logits(z, _targets, reduction: nn.Reduction.Sum);
        loss.backward();
        return loss.item<float>();
    }

    [Benchmark(Description = "ASL (Miil.ML)")]
    public float Asymmetric()
    {
        using var scope = NewDisposeScope();
        Tensor z = _logits.detach().requires_grad_();
        Tensor loss = _asl.forward(z, _targets);
        loss.backward();
        return loss.item<float>();
    }

    /// <summary>What the trainer runs: the loss's value and its gradient in one pass, back-propagated from the logits (no graph for the loss).</summary>
    [Benchmark(Description = "ASL training loss (Miil.ML)")]
    public float AsymmetricTrainingStep()
    {
        using var scope = NewDisposeScope();
        Tensor z = _logits.detach().requires_grad_();
        TrainingLossValue value = _training.Compute(z, _targets);
        z.backward([value.LogitGradient!]);
        return (float)value.Sum;
    }

    [Benchmark(Description = "ASL composed of tensor ops")]
    public float ReferenceComposition()
    {
        using var scope = NewDisposeScope();
        Tensor z = _logits.detach().requires_grad_();
        Tensor loss = ComposedReference(z, _targets, gammaNeg: 4, gammaPos: 0, clip: 0.05, eps: 1e-8);
        loss.backward();
        return loss.item<float>();
    }

    /// <summary>The reference AsymmetricLoss.forward, operation for operation, focusing weight detached.</summary>
    private static Tensor ComposedReference(Tensor x, Tensor y, double gammaNeg, double gammaPos, double clip, double eps)
    {
        Tensor sigmoid = x.sigmoid();
        Tensor xsPos = sigmoid;
        Tensor xsNeg = (1 - sigmoid + clip).clamp(max: 1);
        Tensor loss = y * xsPos.clamp(min: eps).log() + (1 - y) * xsNeg.clamp(min: eps).log();
        Tensor w;
        using (no_grad())
        {
            Tensor pt = xsPos * y + xsNeg * (1 - y);
            w = (1 - pt).pow(gammaPos * y + gammaNeg * (1 - y));
        }
        return -(loss * w).sum();
    }
}
