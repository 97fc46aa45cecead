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
}
