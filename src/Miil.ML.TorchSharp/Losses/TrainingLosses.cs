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
    public static ITrainingLoss Asymmetric(AsymmetricLossOptions? options = null)
    {
        options ??= new AsymmetricLossOptions();
        options.Validate();
        RefuseNone(options.Reduction, "Loss");
        return new AsymmetricTrainingLoss(options);
    }

    /// <summary>The single-label (softmax) Asymmetric Loss; each image's label row must hold exactly one 1 (the class) and 0 elsewhere.</summary>
    /// <param name="options">Gammas, label smoothing, reduction; default the reference class's.</param>
    /// <exception cref="ArgumentException">Options out of range, or reduction None.</exception>
    public static ITrainingLoss SingleLabelAsymmetric(AsymmetricLossSingleLabelOptions? options = null)
    {
        options ??= new AsymmetricLossSingleLabelOptions();
        options.Validate();
        RefuseNone(options.Reduction, "LossFunction");
        var loss = new AsymmetricLossSingleLabel(options with { Reduction = LossReduction.None });
        // One loss per image: Mean and BatchMean are the same.
        return new SummedLoss($"SingleLabelASL({options})", options.Reduction == LossReduction.Sum ? LossReduction.Sum : LossReduction.BatchMean,
            (logits, targets) => loss.forward(logits, targets.argmax(1)).sum(), targets => targets.shape[0])
        {
            LabelCheck = CheckOnePositivePerRow,
        };
    }

    internal static void RefuseNone(LossReduction reduction, string option)
    {
        if (reduction == LossReduction.None)
        {
            throw new ArgumentException($"{option}.Reduction None gives a loss per element, which cannot be back-propagated as one step; use Sum (the reference), Mean or BatchMean.", option);
        }
    }

    private static void CheckOnePositivePerRow(ReadOnlySpan<float> labels, int classCount, Func<int, string> describeRow)
    {
        for (int row = 0; row < labels.Length / classCount; row++)
        {
            int positives = 0, others = 0;
            foreach (float v in labels.Slice(row * classCount, classCount))
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

    /// <summary>
    /// ASL in training: the kernel's one pass gives the loss and its gradient with respect to the logits,
    /// which the loop back-propagates from the logits directly (no graph for the loss: attaching the
    /// gradient costs a dot product and three autograd nodes per step). Labels of -1 are the data
    /// contract's "ignored", whatever the option says; with no -1 in the data nothing changes.
    /// </summary>
    private sealed class AsymmetricTrainingLoss(AsymmetricLossOptions options) : ITrainingLoss
    {
        private readonly AsymmetricLossOptions _summed = options with { IgnoreLabel = true, Reduction = LossReduction.Sum };

        public string Description { get; } = $"ASL({options with { IgnoreLabel = true }})";

        public TrainingLossValue Compute(Tensor logits, Tensor targets)
        {
            if (!logits.shape.SequenceEqual(targets.shape))
            {
                throw new ArgumentException($"Targets have shape [{string.Join(", ", targets.shape)}] but logits [{string.Join(", ", logits.shape)}].", nameof(targets));
            }
            // Half-precision logits are computed in float32 (the 1e-8 clamp underflows in half precision).
            Tensor z = logits.dtype is ScalarType.Float32 or ScalarType.Float64 ? logits.detach() : logits.detach().to(ScalarType.Float32);
            (Tensor output, Tensor gradient, long counted) = AsymmetricLossFunction.Run(z, targets.to(z.dtype, z.device), _summed);
            double sum = output.dtype == ScalarType.Float64 ? output.item<double>() : output.item<float>();
            double divisor = options.Reduction switch
            {
                LossReduction.BatchMean => Math.Max(logits.shape[0], 1),
                LossReduction.Mean => Math.Max(counted, 1),
                _ => 1,
            };
            if (divisor != 1)
            {
                using Scalar factor = (1.0 / divisor).ToScalar();  // held across the call (Numerics.Scalars)
                gradient.mul_(factor);
            }
            return TrainingLossValue.FromGradient(gradient.dtype == logits.dtype ? gradient : gradient.to(logits.dtype), sum);
        }
    }

    /// <summary>
    /// A loss computed summed over the batch (what reports show), then reduced as configured: divided by
    /// the images (BatchMean) or by the elements that count (Mean).
    /// </summary>
    private sealed class SummedLoss(string description, LossReduction reduction, Func<Tensor, Tensor, Tensor> sum, Func<Tensor, long> counted) : ITrainingLoss
    {
        public delegate void Check(ReadOnlySpan<float> labels, int classCount, Func<int, string> describeRow);

        public string Description { get; } = description;

        public Check? LabelCheck { get; init; }

        public void CheckLabels(ReadOnlySpan<float> labels, int classCount, Func<int, string> describeRow) => LabelCheck?.Invoke(labels, classCount, describeRow);

        public TrainingLossValue Compute(Tensor logits, Tensor targets)
        {
            Tensor total = sum(logits, targets);
            double divisor = reduction switch
            {
                LossReduction.BatchMean => Math.Max(logits.shape[0], 1),
                LossReduction.Mean => Math.Max(counted(targets), 1),
                _ => 1,
            };
            Tensor objective = total;
            if (divisor != 1)
            {
                using Scalar factor = (1.0 / divisor).ToScalar();  // held across the call (Numerics.Scalars)
                objective = total.mul(factor);
            }
            return new TrainingLossValue(objective, total.item<float>());
        }
    }
}
