using Miil.ML.Reports;
using System.Diagnostics;
using Miil.ML.Evaluation;
using Miil.ML.Images;
using Miil.ML.TorchSharp.Losses;
using Miil.ML.TorchSharp.Models;
using Microsoft.ML;
using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Training;

/// <summary>What a run produced: the selected network (on the CPU) and how it got there.</summary>
internal sealed record TrainingResult(
    MultiLabelNetwork Network, IReadOnlyList<string> ClassNames, IReadOnlyList<float> Thresholds, IReadOnlyList<EpochSummary> History,
    int BestEpoch, SelectedWeights SelectedWeights, MultiLabelMetrics? ValidationMetrics, int SkippedImages, TrainingPrecision Precision);

/// <summary>
/// The training loop every trainer runs, whatever the network: shuffled batches decoded and augmented
/// ahead of the step, the loss, Adam with OneCycle, EMA, validation of the raw and EMA model each epoch,
/// best-model selection, early stopping and checkpoints. Every random draw derives from (seed, epoch,
/// position), so a run resumed from a checkpoint continues exactly as if never stopped. One instance
/// runs one Fit.
/// </summary>
internal sealed partial class TrainingLoop : IDisposable
{
    /// <summary>libtorch's default generator is global: seeding and initialisation happen together under this lock.</summary>
    private static readonly object SeedLock = new();

    private readonly MLContext _context;
    private readonly TResNetAslOptions _options;
    private readonly int _seed;
    private readonly ITrainingLoss _loss;
    private readonly Device _device;
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    private readonly MultiLabelNetwork _model;
    private readonly ImagePreprocessor _preprocessor;
    private readonly AdamOptimizer _adam;
    private readonly ModelEma? _ema;
    private readonly BFloat16Passes? _bfloat16;
    private MultiLabelNetwork? _best;
    private double? _lastRawMap;
    private double? _lastEmaMap;

    /// <param name="context">Logging and the GPU settings.</param>
    /// <param name="options">The run's options (already validated).</param>
    /// <param name="seed">Seed of shuffling, augmentation and initialisation.</param>
    /// <param name="classCount">Classes of the data.</param>
    /// <param name="createNetwork">Builds the family's network (pretrained weights loaded) for a class count.</param>
    public TrainingLoop(MLContext context, TResNetAslOptions options, int seed, int classCount, Func<int, MultiLabelNetwork> createNetwork)
    {
        _context = context;
        _options = options;
        _seed = seed;
        _loss = options.TrainingLoss();
        _device = TrainingDevice.Choose(context, options.TrainerName);
        lock (SeedLock)
        {
            // Two Fits on different threads each get the initialisation of their own seed.
            random.manual_seed(_seed);
            _model = createNetwork(classCount);
        }
        try
        {
            _preprocessor = new ImagePreprocessor(context, _model.Preprocessing(options.ImageSize), options.ImageFolder, options.DecodeWorkers);
            _model.to(_device);
            _adam = new AdamOptimizer(_model.named_parameters().Select(p => (p.name, p.parameter, AdamOptimizer.Decays(p.name, p.parameter))).ToList(),
                options.WeightDecay, options.WeightDecayKind, name => _model.IsHead(name) ? 1.0 : options.BodyLearningRateFactor);
            _ema = options.EmaDecay is double decay ? new ModelEma(_model, decay) : null;
            Precision = ChoosePrecision();
            _bfloat16 = Precision == TrainingPrecision.BFloat16 ? new BFloat16Passes(_model, _device, options.NormInFloat32, _adam.ParameterNames) : null;
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Trains on <paramref name="train"/>, selecting by <paramref name="validation"/> when given, and returns the selected network (the caller owns it).</summary>
    public TrainingResult Run(TrainingData train, TrainingData? validation)
    {
        _loss.CheckLabels(train.Labels, train.ClassCount, train.Describe);
        var loader = new BatchLoader(train, _preprocessor, _options.BatchSize, _options.DecodeWorkers, _options.SkipUnreadableImages,
            message => ContextLog.Warning(_context, _options.TrainerName, message));
        var schedule = new OneCycleSchedule(_options.LearningRate, (long)loader.BatchCount * _options.EffectiveScheduleEpochs);
        TrainingState state = NewState(train);
        string? checkpoint = _options.CheckpointDirectory is null ? null : Path.Combine(_options.CheckpointDirectory, TrainingCheckpoint.FileName);
        if (checkpoint is not null && Miil.ML.IO.AtomicFile.RemoveLeftovers(checkpoint) is > 0 and int leftovers)
        {
            // A run killed while writing its checkpoint leaves the temporary file (the checkpoint itself is whole).
            ContextLog.Info(_context, _options.TrainerName, $"Removed {leftovers} unfinished checkpoint write(s) beside '{checkpoint}' (a killed run's).");
        }
        if (checkpoint is not null && File.Exists(checkpoint))
        {
            state = Resume(checkpoint, state.Fingerprint);
            ContextLog.Info(_context, _options.TrainerName, state.Epoch >= _options.Epochs
                ? $"The run in '{checkpoint}' is complete ({state.Epoch} epochs): returning its model without training."
                : $"Resuming from '{checkpoint}': epoch {state.Epoch + 1}, batch {state.BatchInEpoch + 1}.");
        }

        while (state.Epoch < _options.Epochs && !StopEarly(state))
        {
            double seconds = RunEpoch(state, loader, schedule, checkpoint);
            (double? rawMap, double? emaMap) = validation is null ? (null, null) : ValidateAndSelect(state, validation, schedule, loader.BatchCount, seconds);
            EndEpoch(state, rawMap, emaMap, schedule, loader.BatchCount, seconds, checkpoint);
            if (_options.Cancellation.IsCancellationRequested && state.Epoch < _options.Epochs)
            {
                // Between epochs: the epoch's checkpoint is already written.
                throw new OperationCanceledException(checkpoint is null
                    ? $"Training stopped after epoch {state.Epoch} (no CheckpointDirectory: nothing to resume from)."
                    : $"Training stopped after epoch {state.Epoch}; the checkpoint '{checkpoint}' resumes there.", _options.Cancellation);
            }
        }
        if (StopEarly(state))
        {
            ContextLog.Info(_context, _options.TrainerName, $"Stopped early after epoch {state.Epoch}: no better validation mAP for {_options.EarlyStoppingPatience} epochs.");
        }
        return Finish(train, validation, state);
    }

    private bool StopEarly(TrainingState state)
        => _options.EarlyStoppingPatience is int patience && state.EpochsWithoutImprovement >= patience;

    /// <summary>Closes the epoch: its summary in the history and the log, the counters reset, progress, and the checkpoint.</summary>
    private void EndEpoch(TrainingState state, double? rawMap, double? emaMap, OneCycleSchedule schedule, int stepsPerEpoch, double seconds, string? checkpoint)
    {
        var summary = new EpochSummary(state.Epoch + 1, state.EpochLossSum / state.EpochImages, rawMap, emaMap, state.EpochImages / Math.Max(seconds, 1e-9), state.EpochSkipped,
            schedule.At(Math.Max(0, state.Step - 1)).LearningRate);
        state.History.Add(summary);
        ContextLog.Info(_context, _options.TrainerName,
            $"Epoch {summary.Epoch}/{_options.Epochs}: loss {summary.Loss:F4}, {summary.ImagesPerSecond:F1} images/s"
            + (rawMap is null ? "" : $", validation mAP {100 * rawMap:F2}%") + (emaMap is null ? "" : $" (EMA {100 * emaMap:F2}%)")
            + (state.EpochSkipped > 0 ? $", {state.EpochSkipped} unreadable images skipped" : ""));
        state.Epoch++;
        state.BatchInEpoch = 0;
        state.EpochLossSum = 0;
        state.EpochImages = 0;
        state.EpochSkipped = 0;
        state.EpochSeconds = 0;
        Report(TrainingPhase.EpochCompleted, state, stepsPerEpoch, stepsPerEpoch, schedule.At(Math.Max(0, state.Step - 1)).LearningRate, seconds, summary);
        if (checkpoint is not null)
        {
            Save(checkpoint, state);
        }
    }

    /// <summary>The precision the passes run in: the requested one, or float32 where bfloat16 would be emulated.</summary>
    public TrainingPrecision Precision { get; }

    private TrainingPrecision ChoosePrecision()
    {
        if (_options.Precision == TrainingPrecision.Auto)
        {
            if (_device.type == DeviceType.CPU && !_options.ForceBFloat16 && Numerics.BFloat16Support.HardwareInstructions is null)
            {
                ContextLog.Info(_context, _options.TrainerName, "Precision Auto: float32 (this CPU has no bfloat16 instructions).");
                return TrainingPrecision.Float32;
            }
            (TrainingPrecision choice, double float32, double bfloat16) = PrecisionProbe.Measure(_model, _device, _options.ImageSize, _options.BatchSize, _options.NormInFloat32);
            ContextLog.Info(_context, _options.TrainerName, FormattableString.Invariant(
                $"Precision Auto: {choice} (measured forward and backward: float32 {1000 * float32:F0} ms, bfloat16 {1000 * bfloat16:F0} ms a pass; {float32 / bfloat16:F2}x)."));
            return choice;
        }
        if (_options.Precision != TrainingPrecision.BFloat16 || _device.type != DeviceType.CPU || _options.ForceBFloat16)
        {
            return _options.Precision;
        }
        if (Numerics.BFloat16Support.HardwareInstructions is string instructions)
        {
            ContextLog.Info(_context, _options.TrainerName, $"Training in mixed precision: bfloat16 passes ({instructions}), float32 master weights.");
            return TrainingPrecision.BFloat16;
        }
        ContextLog.Warning(_context, _options.TrainerName,
            "Precision is BFloat16 but this CPU has no bfloat16 instructions (AVX512_BF16, AMX-BF16 or Arm BF16): libtorch would emulate it, several times slower "
            + "than float32. Training in float32; set ForceBFloat16 to train in bfloat16 anyway.");
        return TrainingPrecision.Float32;
    }

    public void Dispose()
    {
        _model?.Dispose();
        _bfloat16?.Dispose();
        _ema?.Dispose();
        _adam?.Dispose();
        _best?.Dispose();
    }
}
