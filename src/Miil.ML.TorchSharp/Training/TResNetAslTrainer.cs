using System.Diagnostics;
using Miil.ML.Evaluation;
using Miil.ML.Onnx.Scoring;
using Miil.ML.TorchSharp.Losses;
using Miil.ML.TorchSharp.Models.TResNet;
using Microsoft.ML;
using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Training;

/// <summary>What a run produced: the selected network (on the CPU) and how it got there.</summary>
internal sealed record TrainingResult(
    TResNet Network, IReadOnlyList<string> ClassNames, IReadOnlyList<float> Thresholds, IReadOnlyList<EpochSummary> History,
    int BestEpoch, string BestSource, MultiLabelMetrics? ValidationMetrics, int SkippedImages);

/// <summary>
/// The training loop of <see cref="TResNetAslEstimator"/>: shuffled batches decoded and augmented
/// ahead of the step, ASL, Adam with OneCycle, EMA, validation of the raw and EMA model each epoch,
/// best-model selection, early stopping and checkpoints. Every random draw derives from (seed,
/// epoch, position), so a run resumed from a checkpoint continues exactly as if never stopped.
/// </summary>
internal sealed partial class TResNetAslTrainer
{
    private const string LogSource = "TResNetAsl";

    private readonly MLContext _context;
    private readonly TResNetAslOptions _options;
    private static readonly object SeedLock = new();

    private readonly int _seed;
    private double? _lastRawMap;
    private double? _lastEmaMap;

    public TResNetAslTrainer(MLContext context, TResNetAslOptions options, int seed)
    {
        _context = context;
        _options = options;
        _seed = seed;
    }

    public TrainingResult Run(TrainingData train, TrainingData? validation)
    {
        Device device = TrainingDevice.Choose(_context);
        var clock = Stopwatch.StartNew();
        int classes = train.ClassCount;
        var preprocessor = new ImagePreprocessor(_context, _options.ImageFolder, _options.ImageSize, _options.DecodeWorkers);
        var loader = new BatchLoader(train, preprocessor, _options.BatchSize, _options.DecodeWorkers, _options.SkipUnreadableImages,
            message => ContextLog.Warning(_context, LogSource, message));
        int stepsPerEpoch = loader.BatchCount;
        var schedule = new OneCycleSchedule(_options.LearningRate, (long)stepsPerEpoch * _options.EffectiveScheduleEpochs);

        // libtorch's default generator is global: seeding and initialisation happen together under a
        // lock, so that two Fits on different threads each get the initialisation of their own seed.
        TResNet model;
        lock (SeedLock)
        {
            random.manual_seed(_seed);
            model = CreateModel(classes);
        }
        TResNet? best = null;
        ModelEma? ema = null;
        AdamOptimizer? adam = null;
        try
        {
            model.to(device);
            var named = model.named_parameters().Select(p => (p.name, p.parameter, AdamOptimizer.Decays(p.name, p.parameter))).ToList();
            adam = new AdamOptimizer(named, _options.WeightDecay, _options.WeightDecayKind);
            ema = _options.EmaDecay is double decay ? new ModelEma(model, decay) : null;
            // Labels of -1 (unknown, or VOC's difficult-only classes) are left out of the loss, as the data contract says.
            bool anyIgnored = Array.IndexOf(train.Labels, -1f) >= 0;
            using var loss = new AsymmetricLoss(anyIgnored ? _options.Loss with { IgnoreLabel = true } : _options.Loss);
            TrainingState state = NewState(train);
            string? checkpoint = _options.CheckpointDirectory is null ? null : Path.Combine(_options.CheckpointDirectory, TrainingCheckpoint.FileName);
            if (checkpoint is not null && File.Exists(checkpoint))
            {
                state = Resume(checkpoint, state.Fingerprint, model, ema, adam, ref best);
                ContextLog.Info(_context, LogSource, state.Epoch >= _options.Epochs
                    ? $"The run in '{checkpoint}' is complete ({state.Epoch} epochs): returning its model without training."
                    : $"Resuming from '{checkpoint}': epoch {state.Epoch + 1}, batch {state.BatchInEpoch + 1}.");
            }

            while (state.Epoch < _options.Epochs && !StopEarly(state))
            {
                int epoch = state.Epoch;
                int[] order = Permutation(train.Count, _seed, epoch);
                model.train();
                var epochClock = Stopwatch.StartNew();
                double secondsBefore = state.EpochSeconds;
                int batch = state.BatchInEpoch;
                foreach (Batch b in loader.Batches(order, batch, _options.Augmentation, _seed, epoch))
                {
                    if (b.Count > 0)
                    {
                        (double lr, double beta1) = schedule.At(state.Step);
                        double batchLoss = Step(model, loss, adam, b, lr, beta1, device, train.ClassCount, _options.ImageSize);
                        ema?.Update();
                        state.Step++;
                        state.EpochLossSum += batchLoss;
                        state.EpochImages += b.Count;
                        Report(TrainingPhase.Training, state, batch + 1, stepsPerEpoch, lr, secondsBefore + epochClock.Elapsed.TotalSeconds, clock);
                    }
                    state.EpochSkipped += b.Skipped;
                    batch++;
                    state.BatchInEpoch = batch;
                    if (checkpoint is not null && _options.CheckpointEverySteps is int every && batch % every == 0 && batch < stepsPerEpoch)
                    {
                        state.EpochSeconds = secondsBefore + epochClock.Elapsed.TotalSeconds;
                        Save(checkpoint, state, model, ema, adam, best);
                    }
                }
                double seconds = secondsBefore + epochClock.Elapsed.TotalSeconds;
                if (state.EpochImages == 0)
                {
                    throw new InvalidOperationException($"No image of the training data could be read in epoch {epoch + 1} ({state.EpochSkipped} skipped).");
                }

                double? rawMap = null, emaMap = null;
                if (validation is not null)
                {
                    Report(TrainingPhase.Validating, state, stepsPerEpoch, stepsPerEpoch, schedule.At(Math.Max(0, state.Step - 1)).LearningRate, seconds, clock);
                    rawMap = Map(model, validation, preprocessor, device);
                    emaMap = ema is null ? null : Map(ema.Model, validation, preprocessor, device);
                    (_lastRawMap, _lastEmaMap) = (rawMap, emaMap);
                    (double score, string source) = emaMap > rawMap ? (emaMap.Value, "ema") : (rawMap.Value, "raw");
                    if (state.BestMap is null || score > state.BestMap)
                    {
                        state.BestMap = score;
                        state.BestEpoch = epoch + 1;
                        state.BestSource = source;
                        state.EpochsWithoutImprovement = 0;
                        best ??= model.NewOfSameShape(CPU);
                        best.CopyStateFrom(source == "ema" ? ema!.Model : model);
                    }
                    else
                    {
                        state.EpochsWithoutImprovement++;
                    }
                }
                var summary = new EpochSummary(epoch + 1, state.EpochLossSum / state.EpochImages, rawMap, emaMap, state.EpochImages / Math.Max(seconds, 1e-9), state.EpochSkipped);
                state.History.Add(summary);
                ContextLog.Info(_context, LogSource,
                    $"Epoch {epoch + 1}/{_options.Epochs}: loss {summary.Loss:F4}, {summary.ImagesPerSecond:F1} images/s"
                    + (rawMap is null ? "" : $", validation mAP {100 * rawMap:F2}%") + (emaMap is null ? "" : $" (EMA {100 * emaMap:F2}%)")
                    + (state.EpochSkipped > 0 ? $", {state.EpochSkipped} unreadable images skipped" : ""));
                state.Epoch++;
                state.BatchInEpoch = 0;
                state.EpochLossSum = 0;
                state.EpochImages = 0;
                state.EpochSkipped = 0;
                state.EpochSeconds = 0;
                Report(TrainingPhase.EpochCompleted, state, stepsPerEpoch, stepsPerEpoch, schedule.At(Math.Max(0, state.Step - 1)).LearningRate, seconds, clock, summary);
                if (checkpoint is not null)
                {
                    Save(checkpoint, state, model, ema, adam, best);
                }
            }
            if (StopEarly(state))
            {
                ContextLog.Info(_context, LogSource, $"Stopped early after epoch {state.Epoch}: no better validation mAP for {_options.EarlyStoppingPatience} epochs.");
            }

            // The selected weights go into a CPU copy, which the result owns.
            TResNet selected = best ?? model.NewOfSameShape(CPU);
            if (best is null)
            {
                selected.CopyStateFrom(model);
            }
            best = null;
            try
            {
                selected.eval();
                return Finish(selected, train, validation, preprocessor, device, state);
            }
            catch
            {
                selected.Dispose();
                throw;
            }
        }
        finally
        {
            model.Dispose();
            ema?.Dispose();
            adam?.Dispose();
            best?.Dispose();
        }
    }
}
