using Miil.ML.Reports;
using Miil.ML.Evaluation;
using Miil.ML.TorchSharp.Models;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Training;

internal sealed partial class TrainingLoop
{
    /// <summary>Validation batches: no augmentation, so any size that fits memory; the training batch size is a safe one.</summary>
    private int ValidationBatchSize => _options.BatchSize;

    /// <summary>Scores the raw and the EMA model on the validation set and keeps a CPU copy of the better one when it beats the best so far.</summary>
    private (double? Raw, double? Ema) ValidateAndSelect(TrainingState state, TrainingData validation, OneCycleSchedule schedule, int stepsPerEpoch, double seconds)
    {
        Report(TrainingPhase.Validating, state, stepsPerEpoch, stepsPerEpoch, schedule.At(Math.Max(0, state.Step - 1)).LearningRate, seconds);
        double rawMap = Map(_model, validation);
        double? emaMap = _ema is null ? null : Map(_ema.Model, validation);
        (_lastRawMap, _lastEmaMap) = (rawMap, emaMap);
        (double score, SelectedWeights source) = emaMap > rawMap ? (emaMap.Value, SelectedWeights.Ema) : (rawMap, SelectedWeights.Raw);
        if (state.BestMap is null || score > state.BestMap)
        {
            state.BestMap = score;
            state.BestEpoch = state.Epoch + 1;
            state.BestSource = source;
            state.EpochsWithoutImprovement = 0;
            _best ??= _model.NewOfSameShape(CPU);
            _best.CopyStateFrom(source == SelectedWeights.Ema ? _ema!.Model : _model);
        }
        else
        {
            state.EpochsWithoutImprovement++;
        }
        return (rawMap, emaMap);
    }

    private double Map(MultiLabelNetwork model, TrainingData data)
    {
        (float[] scores, float[] labels) = Scores(model, data, _device);
        return MultiLabelEvaluator.Evaluate(scores, labels, data.ClassCount, data.ClassNames).MeanAveragePrecision;
    }

    /// <summary>
    /// Probabilities of <paramref name="model"/> (eval mode) and the matching labels, row-major, for every
    /// row whose image could be read (all of them unless unreadable images are skipped).
    /// </summary>
    private (float[] Scores, float[] Labels) Scores(MultiLabelNetwork model, TrainingData data, Device device)
    {
        bool training = model.training;
        model.eval();
        int classes = data.ClassCount;
        var scores = new float[data.Labels.Length];
        var labels = new float[data.Labels.Length];
        var loader = new BatchLoader(data, _preprocessor, ValidationBatchSize, _options.DecodeWorkers, _options.SkipUnreadableImages,
            message => ContextLog.Warning(_context, _options.TrainerName, "Validation: " + message));
        int[] order = Enumerable.Range(0, data.Count).ToArray();
        int row = 0;
        try
        {
            foreach (Batch b in loader.Batches(order, 0, augmentation: null, _seed, 0))
            {
                using var scope = NewDisposeScope();
                using IDisposable noGrad = no_grad();
                int size = _preprocessor.ImageSize;
                Tensor x = FromSpan(b.Pixels.AsSpan(0, b.Count * _preprocessor.Length), [b.Count, 3, size, size]).to(device);
                Tensor p = model.call(x).sigmoid().cpu();
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
            throw new InvalidOperationException($"No image of the {data.Role} data could be read.");
        }
        return (scores[..(row * classes)], labels[..(row * classes)]);
    }

    /// <summary>
    /// The selected weights in a CPU copy that the result owns, its thresholds (fixed, or tuned on the
    /// validation set) and its validation metrics with them.
    /// </summary>
    private TrainingResult Finish(TrainingData train, TrainingData? validation, TrainingState state)
    {
        MultiLabelNetwork selected = _best ?? _model.NewOfSameShape(CPU);
        if (_best is null)
        {
            selected.CopyStateFrom(_model);
        }
        _best = null;
        try
        {
            selected.eval();
            IReadOnlyList<float> thresholds = Enumerable.Repeat(_options.Thresholds.Threshold, train.ClassCount).ToList();
            MultiLabelMetrics? metrics = null;
            if (validation is not null)
            {
                (float[] scores, float[] labels) = Scores(selected, validation, CPU);
                if (_options.Thresholds.IsTuned)
                {
                    TunedThresholds tuned = ThresholdTuner.Tune(scores, labels, validation.ClassCount, validation.ClassNames, _options.Thresholds);
                    thresholds = tuned.Thresholds;
                    if (tuned.TargetNotReached.Count > 0)
                    {
                        ContextLog.Warning(_context, _options.TrainerName, $"Target precision {_options.Thresholds.TargetPrecision:P0} not reached for: {string.Join(", ", tuned.TargetNotReached)}.");
                    }
                }
                var decisions = new bool[scores.Length];
                for (int i = 0; i < scores.Length; i++)
                {
                    decisions[i] = scores[i] > thresholds[i % train.ClassCount];
                }
                metrics = MultiLabelEvaluator.Evaluate(scores, labels, validation.ClassCount, validation.ClassNames, _options.Thresholds.Threshold,
                    _options.Thresholds.TopK, predictedLabels: decisions);
            }
            SelectedWeights source = state.BestSource ?? SelectedWeights.Raw;
            int bestEpoch = state.BestSource is null ? state.Epoch : state.BestEpoch;
            return new TrainingResult(selected, train.ClassNames, thresholds, state.History, bestEpoch, source, metrics, state.History.Sum(h => h.SkippedImages), Precision);
        }
        catch
        {
            selected.Dispose();
            throw;
        }
    }
}
