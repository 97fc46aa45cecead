using System.Diagnostics;
using System.Runtime.InteropServices;
using Miil.ML.Evaluation;
using Miil.ML.Onnx.Scoring;
using Miil.ML.TorchSharp.Losses;
using Miil.ML.TorchSharp.Models.TResNet;
using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Training;

internal sealed partial class TResNetAslTrainer
{
    /// <summary>Validation batches: no augmentation, so any size that fits memory; the training batch size is a safe one.</summary>
    private int ValidationBatchSize => _options.BatchSize;

    private TResNet CreateModel(int classes)
    {
        var model = new TResNet(_options.Architecture, classes);
        if (_options.PretrainedWeights is string weights)
        {
            try
            {
                TResNetCheckpointInfo info = TResNetCheckpoint.Load(model, weights);
                ContextLog.Info(_context, LogSource, $"Pretrained weights from '{weights}' ({info.Layout} layout"
                    + (info.HeadReplaced ? $", head of {info.CheckpointNumClasses} classes replaced by a new one of {classes}" : "") + ").");
            }
            catch
            {
                model.Dispose();
                throw;
            }
        }
        return model;
    }

    private TrainingState NewState(TrainingData train) => new()
    {
        Fingerprint = new TrainingFingerprint(
            _options.Architecture.Name, _options.Architecture.Layers.ToArray(), _options.Architecture.WidthFactor, train.ClassNames.ToArray(),
            _options.ImageSize, _options.BatchSize, _options.EffectiveScheduleEpochs, train.Count, _seed, _options.EmaDecay,
            _options.Loss.ToString(), _options.LearningRate, _options.WeightDecay, _options.WeightDecayKind.ToString(),
            _options.Augmentation.ToString(), train.Digest()),
    };

    /// <summary>The epoch's order of rows: a Fisher-Yates shuffle seeded by (seed, epoch).</summary>
    internal static int[] Permutation(int count, int seed, int epoch)
    {
        int[] order = Enumerable.Range(0, count).ToArray();
        Random random = Augmentation.RandomFor(seed, epoch, -1);
        for (int i = count - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }

    /// <summary>
    /// A CPU tensor holding a copy of <paramref name="data"/>: one copy into native memory, no managed
    /// array in between (a batch at 224 px is megabytes, and large managed arrays cost full collections).
    /// </summary>
    private static Tensor FromSpan(ReadOnlySpan<float> data, long[] shape)
    {
        Tensor t = empty(shape, ScalarType.Float32);
        MemoryMarshal.AsBytes(data).CopyTo(t.bytes);
        return t;
    }

    /// <summary>One optimisation step; returns the batch's loss summed over its images (whatever the loss's reduction).</summary>
    private static double Step(TResNet model, AsymmetricLoss loss, AdamOptimizer adam, Batch batch, double lr, double beta1, Device device, int classes, int size)
    {
        using var scope = NewDisposeScope();
        Tensor x = FromSpan(batch.Pixels.AsSpan(0, batch.Count * 3 * size * size), [batch.Count, 3, size, size]).to(device);
        Tensor y = FromSpan(batch.Labels.AsSpan(0, batch.Count * classes), [batch.Count, classes]).to(device);
        model.zero_grad();
        Tensor logits = model.forward(x);
        Tensor l = loss.forward(logits, y);
        l.backward();
        adam.Step(lr, beta1);
        double value = l.item<float>();
        return loss.Options.Reduction switch
        {
            LossReduction.BatchMean => value * batch.Count,
            LossReduction.Mean => value * batch.Count * classes,  // exact without ignored labels
            _ => value,
        };
    }

    /// <summary>
    /// Probabilities of <paramref name="model"/> (eval mode) and the matching labels, row-major, for every
    /// validation row whose image could be read (all of them unless unreadable images are skipped).
    /// </summary>
    private (float[] Scores, float[] Labels) Scores(TResNet model, TrainingData data, ImagePreprocessor preprocessor, Device device)
    {
        bool training = model.training;
        model.eval();
        int classes = data.ClassCount;
        var scores = new float[data.Labels.Length];
        var labels = new float[data.Labels.Length];
        var loader = new BatchLoader(data, preprocessor, ValidationBatchSize, _options.DecodeWorkers, _options.SkipUnreadableImages,
            message => ContextLog.Warning(_context, LogSource, "Validation: " + message));
        int[] order = Enumerable.Range(0, data.Count).ToArray();
        int row = 0;
        try
        {
            foreach (Batch b in loader.Batches(order, 0, augmentation: null, _seed, 0))
            {
                using var scope = NewDisposeScope();
                using IDisposable noGrad = no_grad();
                int size = preprocessor.ImageSize;
                Tensor x = FromSpan(b.Pixels.AsSpan(0, b.Count * preprocessor.Length), [b.Count, 3, size, size]).to(device);
                Tensor p = model.forward(x).sigmoid().cpu();
                p.data<float>().CopyTo(scores.AsSpan(row * classes, b.Count * classes));
                b.Labels.AsSpan(0, b.Count * classes).CopyTo(labels.AsSpan(row * classes));
                row += b.Count;
            }
        }
        finally
        {
            model.train(training);
        }
        if (row == 0)
        {
            throw new InvalidOperationException("No image of the validation data could be read.");
        }
        return (scores[..(row * classes)], labels[..(row * classes)]);
    }

    private double Map(TResNet model, TrainingData data, ImagePreprocessor preprocessor, Device device)
    {
        (float[] scores, float[] labels) = Scores(model, data, preprocessor, device);
        return MultiLabelEvaluator.Evaluate(scores, labels, data.ClassCount, data.ClassNames).MeanAveragePrecision;
    }

    private bool StopEarly(TrainingState state)
        => _options.EarlyStoppingPatience is int patience && state.EpochsWithoutImprovement >= patience;

    private void Report(TrainingPhase phase, TrainingState state, int step, int stepsPerEpoch, double lr, double epochSeconds, Stopwatch clock, EpochSummary? summary = null)
    {
        if (_options.Progress is null)
        {
            return;
        }
        double perSecond = state.EpochImages / Math.Max(epochSeconds, 1e-9);
        int epoch = summary?.Epoch ?? state.Epoch + 1;
        double stepsLeft = (double)(_options.Epochs - epoch) * stepsPerEpoch + (stepsPerEpoch - step);
        double secondsPerStep = step > 0 && epochSeconds > 0 ? epochSeconds / step : 0;
        TimeSpan? remaining = secondsPerStep > 0 ? TimeSpan.FromSeconds(stepsLeft * secondsPerStep) : null;
        _options.Progress.Report(new TrainingProgress(phase, epoch, _options.Epochs, step, stepsPerEpoch,
            summary?.Loss ?? (state.EpochImages == 0 ? 0 : state.EpochLossSum / state.EpochImages), lr,
            summary?.ImagesPerSecond ?? perSecond, _lastRawMap, _lastEmaMap, clock.Elapsed, remaining));
    }

    private static void Save(string path, TrainingState state, TResNet model, ModelEma? ema, AdamOptimizer adam, TResNet? best)
    {
        IEnumerable<(string, Tensor)> tensors = model.state_dict().Select(kv => ("model." + kv.Key, kv.Value))
            .Concat(adam.State().Select(t => ("optimizer." + t.Name, t.Tensor)));
        if (ema is not null)
        {
            tensors = tensors.Concat(ema.Model.state_dict().Select(kv => ("ema." + kv.Key, kv.Value)));
        }
        if (best is not null)
        {
            tensors = tensors.Concat(best.state_dict().Select(kv => ("best." + kv.Key, kv.Value)));
        }
        TrainingCheckpoint.Save(path, state, tensors);
    }

    private TrainingState Resume(string path, TrainingFingerprint fingerprint, TResNet model, ModelEma? ema, AdamOptimizer adam, ref TResNet? best)
    {
        (TrainingState state, Dictionary<string, Tensor> tensors) = TrainingCheckpoint.Load(path);
        try
        {
            var differences = fingerprint.DifferencesFrom(state.Fingerprint).ToList();
            if (differences.Count > 0)
            {
                throw new InvalidOperationException(
                    $"Checkpoint '{path}' belongs to another run ({string.Join("; ", differences)}; checkpoint first). It is left as it is: "
                    + "use another CheckpointDirectory, or delete the file to start over.");
            }
            TrainingCheckpoint.CopyInto(model.state_dict(), tensors, "model.", path);
            if (ema is not null)
            {
                TrainingCheckpoint.CopyInto(ema.Model.state_dict(), tensors, "ema.", path);
            }
            adam.Restore(tensors.Where(kv => kv.Key.StartsWith("optimizer.", StringComparison.Ordinal))
                .ToDictionary(kv => kv.Key["optimizer.".Length..], kv => kv.Value), state.Step, $"'{path}'");
            if (state.BestSource is not null)
            {
                best = model.NewOfSameShape(CPU);
                TrainingCheckpoint.CopyInto(best.state_dict(), tensors, "best.", path);
            }
            _lastRawMap = state.History.LastOrDefault()?.ValidationMap;
            _lastEmaMap = state.History.LastOrDefault()?.EmaValidationMap;
            return state;
        }
        finally
        {
            foreach (Tensor t in tensors.Values)
            {
                t.Dispose();
            }
        }
    }

    private TrainingResult Finish(TResNet selected, TrainingData train, TrainingData? validation, ImagePreprocessor preprocessor, Device device, TrainingState state)
    {
        IReadOnlyList<float> thresholds = Enumerable.Repeat(_options.Threshold, train.ClassCount).ToList();
        MultiLabelMetrics? metrics = null;
        if (validation is not null)
        {
            (float[] scores, float[] labels) = Scores(selected, validation, preprocessor, CPU);
            if (_options.ThresholdSelection != ThresholdSelection.Fixed)
            {
                TunedThresholds tuned = ThresholdTuner.Tune(scores, labels, validation.ClassCount, validation.ClassNames, new ThresholdTuningOptions
                {
                    PerClass = _options.ThresholdSelection == ThresholdSelection.TunedPerClass,
                    Objective = _options.ThresholdObjective,
                    TargetPrecision = _options.ThresholdTargetPrecision,
                });
                thresholds = tuned.Thresholds;
                if (tuned.TargetNotReached.Count > 0)
                {
                    ContextLog.Warning(_context, LogSource, $"Target precision {_options.ThresholdTargetPrecision:P0} not reached for: {string.Join(", ", tuned.TargetNotReached)}.");
                }
            }
            var decisions = new bool[scores.Length];
            for (int i = 0; i < scores.Length; i++)
            {
                decisions[i] = scores[i] > thresholds[i % train.ClassCount];
            }
            metrics = MultiLabelEvaluator.Evaluate(scores, labels, validation.ClassCount, validation.ClassNames, _options.Threshold, predictedLabels: decisions);
        }
        string source = state.BestSource ?? "raw";
        int bestEpoch = state.BestSource is null ? state.Epoch : state.BestEpoch;
        return new TrainingResult(selected, train.ClassNames, thresholds, state.History, bestEpoch, source, metrics, state.History.Sum(h => h.SkippedImages));
    }
}
