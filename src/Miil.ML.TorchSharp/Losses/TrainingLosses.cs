using Miil.ML.TorchSharp.Numerics;
using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Losses;

/// <summary>
/// The built-in training losses. ASL covers binary cross-entropy and focal loss as settings
/// (<see cref="AsymmetricLossOptions.BinaryCrossEntropy"/>, <see cref="AsymmetricLossOptions.Focal"/>);
/// single-label ASL trains one-class-per-image data (exactly one positive per row).
/// </summary>
public static class TrainingLosses
{
    /// <summary>The multi-label Asymmetric Loss; labels of -1 are left out of the loss and its gradient.</summary>
    /// <param name="options">Gammas, clip, reduction; default the reference COCO recipe.</param>
    /// <exception cref="ArgumentException">Options out of range, or reduction None (a loss per element cannot be one step).</exception>
    public static ITrainingLoss Asymmetric(AsymmetricLossOptions? options = null) => new AsymmetricTrainingLoss(options ?? new AsymmetricLossOptions());

    /// <summary>The single-label (softmax) Asymmetric Loss; each image's label row must hold exactly one 1 (the class) and 0 elsewhere.</summary>
    /// <param name="options">Gammas, label smoothing, reduction; default the reference class's.</param>
    /// <exception cref="ArgumentException">Options out of range, or reduction None.</exception>
    public static ITrainingLoss SingleLabelAsymmetric(AsymmetricLossSingleLabelOptions? options = null) => new SingleLabelTrainingLoss(options ?? new AsymmetricLossSingleLabelOptions());

    internal static void RefuseNone(LossReduction reduction, string option)
    {
        if (reduction == LossReduction.None)
        {
            throw new ArgumentException($"{option}.Reduction None gives a loss per element, which cannot be back-propagated as one step; use Sum (the reference), Mean or BatchMean.", option);
        }
    }

    /// <summary>The objective of a summed loss under <paramref name="reduction"/>: the sum itself, or divided by the images or the counted elements.</summary>
    internal static Tensor Reduce(Tensor sum, LossReduction reduction, long images, Func<long> counted)
    {
        double divisor = reduction switch
        {
            LossReduction.BatchMean => Math.Max(images, 1),
            LossReduction.Mean => Math.Max(counted(), 1),
            _ => 1,
        };
        if (divisor == 1)
        {
            return sum;
        }
        using Scalar factor = (1.0 / divisor).ToScalar();  // held across the call (Numerics.Scalars)
        return sum.mul(factor);
    }
}

/// <summary>ASL as a training loss: computed summed (the kernel's one pass), then reduced as configured.</summary>
internal sealed class AsymmetricTrainingLoss : ITrainingLoss
{
    private readonly AsymmetricLoss _loss;
    private readonly LossReduction _reduction;

    public AsymmetricTrainingLoss(AsymmetricLossOptions options)
    {
        options.Validate();
        TrainingLosses.RefuseNone(options.Reduction, "Loss");
        _reduction = options.Reduction;
        // -1 is the data contract's "ignored", whatever the option says; with no -1 in the data nothing changes.
        _loss = new AsymmetricLoss(options with { IgnoreLabel = true, Reduction = LossReduction.Sum });
        Description = $"ASL({options with { IgnoreLabel = true }})";
    }

    public string Description { get; }

    public TrainingLossValue Compute(Tensor logits, Tensor targets)
    {
        Tensor sum = _loss.forward(logits, targets);
        Tensor objective = TrainingLosses.Reduce(sum, _reduction, logits.shape[0], () => targets.ne(Scalars.MinusOne).sum().item<long>());
        return new TrainingLossValue(objective, sum.item<float>());
    }
}

/// <summary>Single-label ASL as a training loss: the class of each row is its one positive label.</summary>
internal sealed class SingleLabelTrainingLoss : ITrainingLoss
{
    private readonly AsymmetricLossSingleLabel _loss;
    private readonly LossReduction _reduction;

    public SingleLabelTrainingLoss(AsymmetricLossSingleLabelOptions options)
    {
        options.Validate();
        TrainingLosses.RefuseNone(options.Reduction, "LossFunction");
        _reduction = options.Reduction;
        _loss = new AsymmetricLossSingleLabel(options with { Reduction = LossReduction.None });
        Description = $"SingleLabelASL({options})";
    }

    public string Description { get; }

    public void CheckLabels(ReadOnlySpan<float> labels, int classCount, Func<int, string> describeRow)
    {
        for (int row = 0; row < labels.Length / classCount; row++)
        {
            ReadOnlySpan<float> r = labels.Slice(row * classCount, classCount);
            int positives = 0, others = 0;
            foreach (float v in r)
            {
                positives += v == 1 ? 1 : 0;
                others += v != 0 && v != 1 ? 1 : 0;
            }
            if (positives != 1 || others != 0)
            {
                throw new InvalidDataException(
                    $"Single-label ASL needs exactly one positive label (1) and 0 elsewhere per image; {describeRow(row)} has {positives} positives{(others > 0 ? $" and {others} ignored (-1) labels" : "")}.");
            }
        }
    }

    public TrainingLossValue Compute(Tensor logits, Tensor targets)
    {
        Tensor perImage = _loss.forward(logits, targets.argmax(1));
        Tensor sum = perImage.sum();
        // Mean and BatchMean are the same for one loss per image.
        Tensor objective = TrainingLosses.Reduce(sum, _reduction == LossReduction.Sum ? LossReduction.Sum : LossReduction.BatchMean, logits.shape[0], () => logits.shape[0]);
        return new TrainingLossValue(objective, sum.item<float>());
    }
}
