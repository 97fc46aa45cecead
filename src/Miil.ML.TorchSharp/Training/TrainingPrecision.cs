namespace Miil.ML.TorchSharp.Training;

/// <summary>The arithmetic of the training forward and backward passes (<see cref="TResNetAslOptions.Precision"/>).</summary>
public enum TrainingPrecision
{
    /// <summary>Everything in float32 (the default).</summary>
    Float32,

    /// <summary>
    /// Mixed precision: convolutions, activations and gradients in bfloat16; master weights, the
    /// optimiser's state, batch-norm weights and running statistics, the loss, the EMA, the best-model copy
    /// and checkpoints in float32. bfloat16 keeps float32's range, so no loss scaling is needed.
    /// </summary>
    BFloat16,

    /// <summary>
    /// Whichever of the two trains faster here: float32 on a CPU without bfloat16 instructions, otherwise measured at the
    /// start of Fit (a few forward and backward passes of a fresh network of the same shape, seconds; the choice is
    /// logged and is <see cref="TResNetAslTransformer.Precision"/>). bfloat16 is chosen only when 5% faster or more.
    /// </summary>
    Auto,
}
