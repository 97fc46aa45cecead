using Miil.ML.Evaluation;
using Miil.ML.TorchSharp.Losses;
using Miil.ML.TorchSharp.Models.TResNet;
using Microsoft.ML;

namespace Miil.ML.TorchSharp.Training;

/// <summary>
/// Options of <c>mlContext.MultiLabel().TResNetAsl(...)</c>. Defaults follow the reference MS-COCO
/// recipe of the ASL paper (Adam with coupled L2 1e-4 on weights only, OneCycle with pct_start 0.2,
/// div 25, final div 1e4 and beta1 cycled 0.95 to 0.85, EMA 0.9997 of the whole state, Cutout with
/// half the image side plus RandAugment, squash resize, no normalisation, best model by validation
/// mAP). Where the defaults deviate, the member says why (docs/training.md lists them all).
/// </summary>
public sealed class TResNetAslOptions
{
    /// <summary>Label column: known-size vector of Single with class names as slot names; 1 positive, 0 negative, -1 ignored. Default "Label".</summary>
    public string LabelColumnName { get; set; } = "Label";

    /// <summary>Image column: image paths (text; relative ones resolved against <see cref="ImageFolder"/>) or in-memory images (<c>MLImage</c>, for small sets). Default "ImagePath".</summary>
    public string ImageColumnName { get; set; } = "ImagePath";

    /// <summary>Folder that relative image paths are resolved against; null for paths as they are.</summary>
    public string? ImageFolder { get; set; }

    /// <summary>The network. Default <see cref="TResNetArchitecture.M"/>.</summary>
    public TResNetArchitecture Architecture { get; set; } = TResNetArchitecture.M;

    /// <summary>Side of the square network input in pixels (a multiple of 32 is recommended). Default 224, the reference recipe's.</summary>
    public int ImageSize { get; set; } = 224;

    /// <summary>
    /// A checkpoint to start from (MIIL or timm layout, .pth or .safetensors, or this library's own);
    /// its architecture must match <see cref="Architecture"/>, and a head of another class count is
    /// replaced. Null trains from random initialisation.
    /// </summary>
    public string? PretrainedWeights { get; set; }

    /// <summary>The loss. Default ASL (gamma- 4, gamma+ 0, clip 0.05), summed as in the reference.</summary>
    public AsymmetricLossOptions Loss { get; set; } = new();

    /// <summary>Epochs trained. Default 40 (the reference lays out 80 and stops after 41; see <see cref="ScheduleEpochs"/>).</summary>
    public int Epochs { get; set; } = 40;

    /// <summary>
    /// Epochs the OneCycle schedule is laid out for; null means <see cref="Epochs"/> (the schedule
    /// completes). The reference lays out 80 and stops at 41: set 80 with <see cref="Epochs"/> 41 to
    /// reproduce it.
    /// </summary>
    public int? ScheduleEpochs { get; set; }

    /// <summary>Images per step. Default 64 (the reference uses 128 on GPUs; 64 halves the memory and the optimiser copes).</summary>
    public int BatchSize { get; set; } = 64;

    /// <summary>Peak learning rate of the OneCycle schedule (it starts at this / 25). Default 1e-4.</summary>
    public float LearningRate { get; set; } = 1e-4f;

    /// <summary>Weight decay, applied to weights only (not biases or 1-D norm parameters). Default 1e-4.</summary>
    public float WeightDecay { get; set; } = 1e-4f;

    /// <summary>How weight decay enters the update. Default <see cref="WeightDecayKind.CoupledL2"/> (PyTorch Adam's, as the reference).</summary>
    public WeightDecayKind WeightDecayKind { get; set; } = WeightDecayKind.CoupledL2;

    /// <summary>Decay of the exponential moving average of the whole state (batch-norm buffers included), updated every step; null turns it off. Default 0.9997.</summary>
    /// <remarks>At 0.9997 the average needs thousands of steps to leave the initial weights; on short runs the raw model wins the selection.</remarks>
    public double? EmaDecay { get; set; } = 0.9997;

    /// <summary>Data augmentation. Default: the reference's Cutout and RandAugment, no flip.</summary>
    public AugmentationOptions Augmentation { get; set; } = new();

    /// <summary>Validation rows (same columns); each epoch the raw and EMA models are scored on it and the better by mAP is kept. Null keeps the last raw model.</summary>
    public IDataView? ValidationSet { get; set; }

    /// <summary>Stops after this many epochs without a better validation mAP; null never stops early. Needs <see cref="ValidationSet"/>.</summary>
    public int? EarlyStoppingPatience { get; set; }

    /// <summary>How the thresholds of <c>PredictedLabels</c> are chosen. Default <see cref="ThresholdSelection.Fixed"/> at <see cref="Threshold"/>.</summary>
    public ThresholdSelection ThresholdSelection { get; set; } = ThresholdSelection.Fixed;

    /// <summary>The fixed threshold (probability). Default 0.5.</summary>
    public float Threshold { get; set; } = 0.5f;

    /// <summary>Objective when thresholds are tuned on the validation set. Default: maximise F1.</summary>
    public ThresholdObjective ThresholdObjective { get; set; } = ThresholdObjective.MaximizeF1;

    /// <summary>Precision aimed at with <see cref="ThresholdObjective.TargetPrecision"/>. Default 0.9.</summary>
    public double ThresholdTargetPrecision { get; set; } = 0.9;

    /// <summary>
    /// Folder for checkpoints (written atomically at every epoch end, and every
    /// <see cref="CheckpointEverySteps"/>); a run finds its own checkpoint there and resumes from
    /// it. A checkpoint of a different run is never overwritten: Fit refuses. Null: none.
    /// </summary>
    public string? CheckpointDirectory { get; set; }

    /// <summary>Name of the run's checkpoint file inside <see cref="CheckpointDirectory"/>.</summary>
    public const string CheckpointFileName = "training.safetensors";

    /// <summary>Also checkpoint every this many steps within an epoch; null: only at epoch ends.</summary>
    public int? CheckpointEverySteps { get; set; }

    /// <summary>Threads decoding and augmenting images. Default: the processor count.</summary>
    public int DecodeWorkers { get; set; } = Environment.ProcessorCount;

    /// <summary>
    /// Skip images that cannot be read instead of failing: training and validation rows are left out
    /// (logged; training ones counted per epoch), and the trained scorer scores such rows as missing.
    /// Default false: the first unreadable image stops Fit, naming its row and path.
    /// </summary>
    public bool SkipUnreadableImages { get; set; }

    /// <summary>Seed of shuffling, augmentation and initialisation; null takes one from the <c>MLContext</c>'s seed.</summary>
    public int? Seed { get; set; }

    /// <summary>Receives progress after every step and validation (on the training thread; keep it quick).</summary>
    public IProgress<TrainingProgress>? Progress { get; set; }

    internal int EffectiveScheduleEpochs => ScheduleEpochs ?? Epochs;

    internal void Validate()
    {
        ArgumentException.ThrowIfNullOrEmpty(LabelColumnName, nameof(LabelColumnName));
        ArgumentException.ThrowIfNullOrEmpty(ImageColumnName, nameof(ImageColumnName));
        ArgumentNullException.ThrowIfNull(Architecture, nameof(Architecture));
        ArgumentNullException.ThrowIfNull(Loss, nameof(Loss));
        ArgumentNullException.ThrowIfNull(Augmentation, nameof(Augmentation));
        Loss.Validate();
        if (Loss.Reduction == LossReduction.None)
        {
            throw new ArgumentException("Loss.Reduction None gives a loss per element, which cannot be back-propagated as one step; use Sum (the reference), Mean or BatchMean.", nameof(Loss));
        }
        Augmentation.Validate();
        Positive(ImageSize, nameof(ImageSize));
        if (ImageSize % 4 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(ImageSize), ImageSize, "ImageSize must be a multiple of 4 (TResNet's space-to-depth stem).");
        }
        Positive(Epochs, nameof(Epochs));
        Positive(BatchSize, nameof(BatchSize));
        Positive(DecodeWorkers, nameof(DecodeWorkers));
        if (ScheduleEpochs is int schedule && schedule < Epochs)
        {
            throw new ArgumentOutOfRangeException(nameof(ScheduleEpochs), schedule, $"ScheduleEpochs must be at least Epochs ({Epochs}).");
        }
        if (!(LearningRate > 0) || float.IsInfinity(LearningRate))
        {
            throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "LearningRate must be positive and finite.");
        }
        if (!(WeightDecay >= 0) || float.IsInfinity(WeightDecay))
        {
            throw new ArgumentOutOfRangeException(nameof(WeightDecay), WeightDecay, "WeightDecay must be zero or positive.");
        }
        if (EmaDecay is double ema && !(ema > 0 && ema < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(EmaDecay), ema, "EmaDecay must lie in (0, 1), or be null for no EMA.");
        }
        if (EarlyStoppingPatience is int patience)
        {
            Positive(patience, nameof(EarlyStoppingPatience));
            if (ValidationSet is null)
            {
                throw new ArgumentException("EarlyStoppingPatience needs a ValidationSet.", nameof(EarlyStoppingPatience));
            }
        }
        if (ThresholdSelection != ThresholdSelection.Fixed && ValidationSet is null)
        {
            throw new ArgumentException($"ThresholdSelection {ThresholdSelection} tunes on the validation set: set ValidationSet.", nameof(ThresholdSelection));
        }
        if (!(Threshold >= 0 && Threshold <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(Threshold), Threshold, "Threshold must lie in [0, 1].");
        }
        if (CheckpointEverySteps is int every)
        {
            Positive(every, nameof(CheckpointEverySteps));
            if (CheckpointDirectory is null)
            {
                throw new ArgumentException("CheckpointEverySteps needs a CheckpointDirectory.", nameof(CheckpointEverySteps));
            }
        }
    }

    private static void Positive(int value, string name)
    {
        if (value < 1)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be at least 1.");
        }
    }
}

/// <summary>How weight decay enters the Adam update.</summary>
public enum WeightDecayKind
{
    /// <summary>Added to the gradient before the moments (PyTorch <c>Adam(weight_decay=...)</c>), as the reference.</summary>
    CoupledL2,

    /// <summary>Decoupled from the moments: weights shrink by lr x decay each step (AdamW).</summary>
    Decoupled,
}

/// <summary>How the thresholds of <c>PredictedLabels</c> are chosen.</summary>
public enum ThresholdSelection
{
    /// <summary>One fixed threshold, <see cref="TResNetAslOptions.Threshold"/>.</summary>
    Fixed,

    /// <summary>One threshold for all classes, tuned on the validation set.</summary>
    TunedGlobal,

    /// <summary>One threshold per class, tuned on the validation set.</summary>
    TunedPerClass,
}
