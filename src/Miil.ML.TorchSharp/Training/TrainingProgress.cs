namespace Miil.ML.TorchSharp.Training;

/// <summary>What Fit is doing.</summary>
public enum TrainingPhase
{
    /// <summary>Optimisation steps.</summary>
    Training,

    /// <summary>Scoring the validation set after an epoch.</summary>
    Validating,

    /// <summary>An epoch ended (and was validated, with a validation set): the report carries its summary numbers.</summary>
    EpochCompleted,

    /// <summary>Exporting the selected model to ONNX.</summary>
    Exporting,
}

/// <summary>Progress of <c>TResNetAsl</c>'s Fit, reported after every step and every validation.</summary>
/// <param name="Phase">What is happening.</param>
/// <param name="Epoch">Current epoch, 1-based.</param>
/// <param name="Epochs">Epochs planned.</param>
/// <param name="Step">Step within the epoch, 1-based (0 before the first).</param>
/// <param name="StepsPerEpoch">Steps in an epoch.</param>
/// <param name="Loss">Mean loss per image of the epoch so far (the summed ASL divided by the batch size).</param>
/// <param name="LearningRate">Learning rate of the last step.</param>
/// <param name="ImagesPerSecond">Training throughput of the epoch so far (decoding included).</param>
/// <param name="ValidationMap">mAP of the raw model on the validation set after the last validated epoch (fraction), or null.</param>
/// <param name="EmaValidationMap">mAP of the EMA model after the last validated epoch, or null.</param>
/// <param name="Elapsed">Time since Fit started (this process).</param>
/// <param name="Remaining">Estimated time to the end of the last epoch, or null before it can be told.</param>
public sealed record TrainingProgress(
    TrainingPhase Phase, int Epoch, int Epochs, int Step, int StepsPerEpoch, double Loss, double LearningRate,
    double ImagesPerSecond, double? ValidationMap, double? EmaValidationMap, TimeSpan Elapsed, TimeSpan? Remaining);

/// <summary>One epoch of a <c>TResNetAsl</c> run.</summary>
/// <param name="Epoch">1-based.</param>
/// <param name="Loss">Mean training loss per image.</param>
/// <param name="ValidationMap">Raw model's validation mAP (fraction), or null without a validation set.</param>
/// <param name="EmaValidationMap">EMA model's validation mAP, or null without EMA or validation set.</param>
/// <param name="ImagesPerSecond">Training throughput (decoding included).</param>
/// <param name="SkippedImages">Unreadable images skipped in the epoch (with <see cref="TResNetAslOptions.SkipUnreadableImages"/>).</param>
public sealed record EpochSummary(int Epoch, double Loss, double? ValidationMap, double? EmaValidationMap, double ImagesPerSecond, int SkippedImages);
