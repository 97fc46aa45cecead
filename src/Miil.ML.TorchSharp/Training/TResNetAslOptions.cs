using Miil.ML.Evaluation;
using Miil.ML.TorchSharp.Losses;
using Miil.ML.TorchSharp.Models;
using Miil.ML.TorchSharp.Models.TResNet;
using Microsoft.ML;

namespace Miil.ML.TorchSharp.Training;

/// <summary>
/// Options of <c>mlContext.MultiLabel().TResNetAsl(...)</c>: the network and its starting weights,
/// columns, input size, loss, schedule, augmentation, validation, thresholds, checkpoints. Defaults
/// follow the reference MS-COCO recipe of the ASL paper (Adam with coupled L2 1e-4 on weights only,
/// OneCycle with pct_start 0.2, div 25, final div 1e4 and beta1 cycled 0.95 to 0.85, EMA 0.9997 of the
/// whole state, Cutout with half the image side plus RandAugment, squash resize, best model by
/// validation mAP). Where the defaults deviate, the member says why (docs/training.md lists them all).
/// Nested options are settable in object initialisers (<c>Loss = { GammaNeg = 2 }</c>). The trainer
/// checks every option when it is created and again when Fit starts.
/// </summary>
public sealed record TResNetAslOptions
{
    /// <summary>
    /// The network: a <see cref="TResNetArchitecture"/> (TResNet, TResNet-V2), or a
    /// <see cref="Models.ResNet.ResNetArchitecture"/> (torchvision's ResNet, ML.NET's ImageNet ResNet18).
    /// Default null: the architecture of <see cref="PretrainedWeights"/> when they name a published model
    /// (as timm infers it from the name), otherwise <see cref="TResNetArchitecture.M"/>. Set it with named
    /// weights and the two must agree.
    /// </summary>
    public NetworkArchitecture? Architecture { get; set; }

    /// <summary>
    /// The head on the network's spatial features: <see cref="ClassifierHead.Pooling"/> (the TResNet and
    /// ASL papers') or <see cref="ClassifierHead.MLDecoder"/> (ML-Decoder, 100 groups and 768 wide by
    /// default: the ML_Decoder recipe, whose other settings are this trainer's defaults too). Default null:
    /// the head of <see cref="PretrainedWeights"/> when they name a published model, otherwise pooling.
    /// From weights with another head (or class count), the body is loaded and the head starts fresh,
    /// except an ML-Decoder's projection and decoder layer, which do not depend on the classes.
    /// </summary>
    public ClassifierHead? Head { get; set; }

    /// <summary>
    /// The weights to start from: a published model by name (<see cref="Pretrained.PretrainedModels"/>,
    /// e.g. <c>tresnet_m.miil_in21k</c>), a hub repository (<c>hf-hub:org/name[@revision]</c>), an
    /// address, or a local checkpoint (MIIL or timm layout, .pth or .safetensors, or this library's own).
    /// Resolved (downloaded into the Hugging Face cache if need be, see <see cref="Hub"/>) when Fit
    /// starts. A head of another class count is replaced by a fresh one. Null trains from random
    /// initialisation.
    /// </summary>
    public string? PretrainedWeights { get; set; }

    /// <summary>Endpoint, cache, token and offline mode of downloads; null (default) for the environment's (<c>HF_ENDPOINT</c>, <c>HF_HUB_CACHE</c>, <c>HF_TOKEN</c>, <c>HF_HUB_OFFLINE</c>).</summary>
    public Hub.HubOptions? Hub { get; set; }

    /// <summary>Receives the progress of a download of <see cref="PretrainedWeights"/> (bytes, total, rate).</summary>
    public IProgress<Hub.HubDownloadProgress>? DownloadProgress { get; set; }


    /// <summary>Label column: known-size vector of Single with class names as slot names; 1 positive, 0 negative, -1 ignored. Default "Label".</summary>
    public string LabelColumnName { get; set; } = DefaultColumnNames.Label;

    /// <summary>Image column: image paths (text; relative ones resolved against <see cref="ImageFolder"/>) or in-memory images (<c>MLImage</c>, for small sets). Default "ImagePath".</summary>
    public string ImageColumnName { get; set; } = DefaultColumnNames.ImagePath;

    /// <summary>Folder that relative image paths are resolved against; null for paths as they are.</summary>
    public string? ImageFolder { get; set; }

    /// <summary>Probability column the trained model writes. Default "Score".</summary>
    public string ScoreColumnName { get; set; } = DefaultColumnNames.Score;

    /// <summary>Decision column the trained model writes. Default "PredictedLabels".</summary>
    public string PredictedLabelsColumnName { get; set; } = DefaultColumnNames.PredictedLabels;

    /// <summary>
    /// Side of the square network input in pixels (a multiple of 32 is recommended; TResNet needs a
    /// multiple of 4). Default 224, the reference recipe's.
    /// </summary>
    public int ImageSize { get; set; } = Models.NetworkDefaults.ImageSize;

    /// <summary>Settings of the default loss, ASL. Default gamma- 4, gamma+ 0, clip 0.05, summed as in the reference. Ignored when <see cref="LossFunction"/> is set.</summary>
    public AsymmetricLossOptions Loss { get; set; } = new();

    /// <summary>
    /// Another training loss instead of ASL with <see cref="Loss"/>: <see cref="TrainingLosses.SingleLabelAsymmetric"/>
    /// or your own <see cref="ITrainingLoss"/>. Default null (ASL).
    /// </summary>
    public ITrainingLoss? LossFunction { get; set; }

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

    /// <summary>
    /// Arithmetic of the forward and backward passes. Default <see cref="TrainingPrecision.Float32"/>.
    /// <see cref="TrainingPrecision.BFloat16"/> is mixed precision (float32 master weights, optimiser,
    /// batch norm, loss, EMA and checkpoints, so a run resumes in either precision); it pays on hardware
    /// with fast bfloat16 (AMD Zen 4 and later, Intel CPUs with AMX, NVIDIA Ampere and later). A CPU
    /// without bfloat16 instructions trains in float32 instead, with a warning, unless
    /// <see cref="ForceBFloat16"/> is set. <see cref="TrainingPrecision.Auto"/> measures which of the two is faster
    /// for this network on this device at the start of Fit (seconds) and logs the choice.
    /// </summary>
    public TrainingPrecision Precision { get; set; } = TrainingPrecision.Float32;

    /// <summary>Train in bfloat16 even on a CPU without bfloat16 instructions (libtorch emulates it, several times slower). Default false.</summary>
    public bool ForceBFloat16 { get; set; }

    /// <summary>
    /// Whether batch norm runs with float32 weights and statistics inside the bfloat16 passes (default,
    /// measured: see docs/training.md) or wholly in bfloat16. Internal: the choice the benchmarks compare.
    /// </summary>
    internal bool NormInFloat32 { get; set; } = true;

    /// <summary>
    /// Fine-tuning: epochs at the start that train only the head, the body's weights and batch-norm
    /// statistics frozen (fastai's <c>fine_tune</c>; useful when the head is new and the data small).
    /// Default 0: everything trains from the first step, as the ASL paper fine-tunes.
    /// </summary>
    public int FreezeBodyEpochs { get; set; }

    /// <summary>
    /// Fine-tuning: the body's learning rate as a fraction of the head's (discriminative rates; 0.1 is a
    /// common choice on small data). Default 1: one rate for all.
    /// </summary>
    public double BodyLearningRateFactor { get; set; } = 1.0;

    /// <summary>Data augmentation. Default: the reference's Cutout and RandAugment, no flip.</summary>
    public AugmentationOptions Augmentation { get; set; } = new();

    /// <summary>Validation rows (same columns); each epoch the raw and EMA models are scored on it and the better by mAP is kept. Null keeps the last raw model.</summary>
    public IDataView? ValidationSet { get; set; }

    /// <summary>Stops after this many epochs without a better validation mAP; null never stops early. Needs <see cref="ValidationSet"/>.</summary>
    public int? EarlyStoppingPatience { get; set; }

    /// <summary>
    /// How the thresholds of <c>PredictedLabels</c> are chosen: fixed (default, 0.5), or tuned on the
    /// validation set globally or per class (<c>Thresholds = { Selection = ThresholdSelection.TunedPerClass }</c>).
    /// </summary>
    public ThresholdOptions Thresholds { get; set; } = new();

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

    /// <summary>
    /// Stops training between two steps: with a <see cref="CheckpointDirectory"/> the checkpoint is written at
    /// that step first, so that a Fit with the same options resumes there; Fit then throws
    /// <see cref="OperationCanceledException"/>. Default: none.
    /// </summary>
    public CancellationToken Cancellation { get; set; }

    internal int EffectiveScheduleEpochs => ScheduleEpochs ?? Epochs;

    /// <summary>The fine-tuning recipe as the checkpoint's fingerprint records it.</summary>
    internal string FineTuning => FreezeBodyEpochs == 0 && BodyLearningRateFactor == 1.0
        ? "none"
        : FormattableString.Invariant($"head alone for {FreezeBodyEpochs} epochs, body rate x{BodyLearningRateFactor}");

    /// <summary>The trainer's name in messages (its catalog method).</summary>
    internal string TrainerName => "TResNetAsl";

    /// <summary>The loss the loop minimises: <see cref="LossFunction"/>, or ASL with <see cref="Loss"/>.</summary>
    internal ITrainingLoss TrainingLoss() => LossFunction ?? TrainingLosses.Asymmetric(Loss);

    /// <summary>Checks every option; the trainer calls it when created and again in Fit (the object is mutable).</summary>
    internal void Validate()
    {
        ArgumentException.ThrowIfNullOrEmpty(LabelColumnName, nameof(LabelColumnName));
        ArgumentException.ThrowIfNullOrEmpty(ImageColumnName, nameof(ImageColumnName));
        ArgumentException.ThrowIfNullOrEmpty(ScoreColumnName, nameof(ScoreColumnName));
        ArgumentException.ThrowIfNullOrEmpty(PredictedLabelsColumnName, nameof(PredictedLabelsColumnName));
        if (ScoreColumnName == PredictedLabelsColumnName)
        {
            throw new ArgumentException($"ScoreColumnName and PredictedLabelsColumnName cannot both be '{ScoreColumnName}'.", nameof(PredictedLabelsColumnName));
        }
        ArgumentNullException.ThrowIfNull(Loss, nameof(Loss));
        ArgumentNullException.ThrowIfNull(Augmentation, nameof(Augmentation));
        if (FreezeBodyEpochs < 0 || FreezeBodyEpochs > Epochs)
        {
            throw new ArgumentOutOfRangeException(nameof(FreezeBodyEpochs), FreezeBodyEpochs, $"FreezeBodyEpochs must lie in [0, Epochs = {Epochs}].");
        }
        if (!(BodyLearningRateFactor > 0 && BodyLearningRateFactor <= 10))
        {
            throw new ArgumentOutOfRangeException(nameof(BodyLearningRateFactor), BodyLearningRateFactor, "BodyLearningRateFactor must lie in (0, 10].");
        }
        if (!Enum.IsDefined(Precision))
        {
            throw new ArgumentOutOfRangeException(nameof(Precision), Precision, "Precision must be Float32, BFloat16 or Auto.");
        }
        ArgumentNullException.ThrowIfNull(Thresholds, nameof(Thresholds));
        if (LossFunction is null)
        {
            Loss.Validate();
            TrainingLosses.RefuseNone(Loss.Reduction, nameof(Loss));
        }
        Augmentation.Validate();
        Thresholds.Validate(nameof(Thresholds));
        Positive(ImageSize, nameof(ImageSize));
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
        if (Thresholds.IsTuned && ValidationSet is null)
        {
            throw new ArgumentException($"Thresholds.Selection {Thresholds.Selection} tunes on the validation set: set ValidationSet.", nameof(Thresholds));
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
