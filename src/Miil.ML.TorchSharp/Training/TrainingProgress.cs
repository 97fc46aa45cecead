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

/// <summary>Progress of a trainer's Fit, reported after every step and every validation.</summary>
public sealed record TrainingProgress
{
    /// <summary>What is happening.</summary>
    public required TrainingPhase Phase { get; init; }

    /// <summary>Current epoch, 1-based.</summary>
    public required int Epoch { get; init; }

    /// <summary>Epochs planned.</summary>
    public required int Epochs { get; init; }

    /// <summary>Step within the epoch, 1-based (0 before the first).</summary>
    public int Step { get; init; }

    /// <summary>Steps in an epoch.</summary>
    public int StepsPerEpoch { get; init; }

    /// <summary>Mean loss per image of the epoch so far (the summed loss divided by the images).</summary>
    public double Loss { get; init; }

    /// <summary>Learning rate of the last step.</summary>
    public double LearningRate { get; init; }

    /// <summary>Training throughput of the epoch so far (decoding included).</summary>
    public double ImagesPerSecond { get; init; }

    /// <summary>mAP of the raw model on the validation set after the last validated epoch (fraction), or null.</summary>
    public double? ValidationMap { get; init; }

    /// <summary>mAP of the EMA model after the last validated epoch, or null.</summary>
    public double? EmaValidationMap { get; init; }

    /// <summary>Time since Fit started (this process).</summary>
    public TimeSpan Elapsed { get; init; }

    /// <summary>Estimated time to the end of the last epoch, or null before it can be told.</summary>
    public TimeSpan? Remaining { get; init; }
}
