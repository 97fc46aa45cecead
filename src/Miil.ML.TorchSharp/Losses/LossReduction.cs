namespace Miil.ML.TorchSharp.Losses;

/// <summary>How a loss module reduces its per-element (or per-sample) losses to its output.</summary>
public enum LossReduction
{
    /// <summary>
    /// Sum over batch and classes: what the reference <c>AsymmetricLoss</c> returns (no mean), and so
    /// the scale its recipe's learning rate was tuned for.
    /// </summary>
    Sum,

    /// <summary>
    /// Mean over the elements that count (for the multi-label loss: batch x classes, less ignored
    /// targets; for the single-label loss: mean over samples, its reference default).
    /// </summary>
    Mean,

    /// <summary>Sum divided by the batch size (first dimension).</summary>
    BatchMean,

    /// <summary>No reduction: the per-element (multi-label) or per-sample (single-label) losses.</summary>
    None,
}
