using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Losses;

/// <summary>
/// A loss the training loop minimises, given the logits (N x C) and the label matrix (N x C of 1
/// positive, 0 negative, -1 ignored) of a batch. The loss applies its own reduction; the loop only
/// back-propagates <see cref="TrainingLossValue.Objective"/> and reports
/// <see cref="TrainingLossValue.Sum"/> per image. <see cref="TrainingLosses"/> makes the built-in ones
/// (ASL and its BCE and focal settings, single-label ASL); implement it for a loss of your own and set
/// it as the trainer's <c>LossFunction</c>.
/// </summary>
public interface ITrainingLoss
{
    /// <summary>
    /// The loss and its settings in words, e.g. for logs; a training checkpoint resumes only a run
    /// whose loss has the same description.
    /// </summary>
    string Description { get; }

    /// <summary>
    /// Checks the whole training label matrix once, before the first step (a single-label loss needs
    /// exactly one positive per row, say); throw with a message naming the row.
    /// </summary>
    /// <param name="labels">Row-major N x C labels: 1, 0 or -1.</param>
    /// <param name="classCount">C.</param>
    /// <param name="describeRow">How to name row i in a message (its index and image).</param>
    void CheckLabels(ReadOnlySpan<float> labels, int classCount, Func<int, string> describeRow)
    {
    }

    /// <summary>The loss of one batch. Called inside the step's dispose scope: temporaries need no care.</summary>
    /// <param name="logits">N x C logits (float32 or float64; the network's output, cast up from half precision).</param>
    /// <param name="targets">N x C labels of the same type and device: 1, 0 or -1 (ignored).</param>
    TrainingLossValue Compute(Tensor logits, Tensor targets);
}

/// <summary>
/// A batch's loss: either a scalar tensor to back-propagate (<see cref="Objective"/>), or, for a loss
/// that computes its own derivative, the gradient with respect to the logits
/// (<see cref="LogitGradient"/>), which the loop back-propagates from the logits directly, with no
/// graph built for the loss itself. Both carry the loss summed over the batch's images for reports.
/// </summary>
public readonly record struct TrainingLossValue
{
    /// <summary>A loss back-propagated from its own scalar tensor.</summary>
    /// <param name="objective">The scalar tensor back-propagated (reduced as the loss is configured).</param>
    /// <param name="sum">The loss summed over the batch's images, for reports.</param>
    public TrainingLossValue(Tensor objective, double sum)
    {
        ArgumentNullException.ThrowIfNull(objective);
        Objective = objective;
        Sum = sum;
    }

    private TrainingLossValue(Tensor? objective, Tensor? logitGradient, double sum)
    {
        Objective = objective;
        LogitGradient = logitGradient;
        Sum = sum;
    }

    /// <summary>A loss given by its gradient with respect to the logits (of the logits' shape and type), back-propagated from them.</summary>
    /// <param name="logitGradient">d objective / d logits, the objective reduced as the loss is configured.</param>
    /// <param name="sum">The loss summed over the batch's images, for reports.</param>
    public static TrainingLossValue FromGradient(Tensor logitGradient, double sum)
    {
        ArgumentNullException.ThrowIfNull(logitGradient);
        return new TrainingLossValue(null, logitGradient, sum);
    }

    /// <summary>The scalar tensor back-propagated, or null when <see cref="LogitGradient"/> is given.</summary>
    public Tensor? Objective { get; }

    /// <summary>d objective / d logits, or null when <see cref="Objective"/> is given.</summary>
    public Tensor? LogitGradient { get; }

    /// <summary>The loss summed over the batch's images, for reports (progress shows it per image).</summary>
    public double Sum { get; }
}
