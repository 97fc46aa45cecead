using Miil.ML.Reports;
using System.Diagnostics;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Training;

internal sealed partial class TrainingLoop
{
    /// <summary>The optimisation steps of one epoch (from where a resumed run stopped); returns the epoch's seconds so far.</summary>
    private double RunEpoch(TrainingState state, BatchLoader loader, OneCycleSchedule schedule, string? checkpoint)
    {
        int epoch = state.Epoch;
        int stepsPerEpoch = loader.BatchCount;
        int[] order = Permutation(loader.RowCount, _seed, epoch);
        _model.train();
        // Fine-tuning: the first epochs train the head alone (the body's weights and norm statistics held).
        _model.FreezeBody(epoch < _options.FreezeBodyEpochs);
        var epochClock = Stopwatch.StartNew();
        double secondsBefore = state.EpochSeconds;
        int batch = state.BatchInEpoch;
        foreach (Batch b in loader.Batches(order, batch, _options.Augmentation, _seed, epoch))
        {
            if (b.Count > 0)
            {
                (double lr, double beta1) = schedule.At(state.Step);
                double batchLoss = Step(b, lr, beta1);
                _ema?.Update();
                state.Step++;
                state.EpochLossSum += batchLoss;
                state.EpochImages += b.Count;
                Report(TrainingPhase.Training, state, batch + 1, stepsPerEpoch, lr, secondsBefore + epochClock.Elapsed.TotalSeconds);
            }
            state.EpochSkipped += b.Skipped;
            batch++;
            state.BatchInEpoch = batch;
            if (checkpoint is not null && _options.CheckpointEverySteps is int every && batch % every == 0 && batch < stepsPerEpoch)
            {
                state.EpochSeconds = secondsBefore + epochClock.Elapsed.TotalSeconds;
                Save(checkpoint, state);
            }
            if (_options.Cancellation.IsCancellationRequested && batch < stepsPerEpoch)
            {
                Stop(state, checkpoint, secondsBefore + epochClock.Elapsed.TotalSeconds);
            }
        }
        if (state.EpochImages == 0)
        {
            throw new InvalidOperationException($"No image of the training data could be read in epoch {epoch + 1} ({state.EpochSkipped} skipped).");
        }
        return secondsBefore + epochClock.Elapsed.TotalSeconds;
    }

    /// <summary>Stops a cancelled run: the checkpoint at this step first (when there is one), then <see cref="OperationCanceledException"/>.</summary>
    private void Stop(TrainingState state, string? checkpoint, double epochSeconds)
    {
        string where = $"epoch {state.Epoch + 1}, step {state.BatchInEpoch}";
        if (checkpoint is not null)
        {
            state.EpochSeconds = epochSeconds;
            Save(checkpoint, state);
            ContextLog.Info(_context, _options.TrainerName, $"Stopped at {where}; the checkpoint '{checkpoint}' resumes there.");
            throw new OperationCanceledException($"Training stopped at {where}; the checkpoint '{checkpoint}' resumes there.", _options.Cancellation);
        }
        throw new OperationCanceledException($"Training stopped at {where} (no CheckpointDirectory: nothing to resume from).", _options.Cancellation);
    }

    /// <summary>One optimisation step; returns the batch's loss summed over its images.</summary>
    private double Step(Batch batch, double lr, double beta1)
    {
        using var scope = NewDisposeScope();
        int size = _preprocessor.ImageSize, classes = batch.ClassCount;
        Tensor x = FromSpan(batch.Pixels.AsSpan(0, batch.Count * _preprocessor.Length), [batch.Count, 3, size, size]).to(_device);
        Tensor y = FromSpan(batch.Labels.AsSpan(0, batch.Count * classes), [batch.Count, classes]).to(_device);
        _model.zero_grad();
        Tensor logits = _bfloat16 is null ? _model.call(x) : _bfloat16.Forward(x);
        Losses.TrainingLossValue loss = _loss.Compute(logits, y);
        if (loss.LogitGradient is Tensor gradient)
        {
            logits.backward([gradient]);
        }
        else
        {
            (loss.Objective ?? throw new InvalidOperationException($"The loss '{_loss.Description}' returned neither an objective nor a gradient.")).backward();
        }
        _adam.Step(lr, beta1, _bfloat16?.MasterGradients());
        return loss.Sum;
    }

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

    private void Report(TrainingPhase phase, TrainingState state, int step, int stepsPerEpoch, double lr, double epochSeconds, EpochSummary? summary = null)
    {
        if (_options.Progress is null)
        {
            return;
        }
        int epoch = summary?.Epoch ?? state.Epoch + 1;
        double stepsLeft = (double)(_options.Epochs - epoch) * stepsPerEpoch + (stepsPerEpoch - step);
        double secondsPerStep = step > 0 && epochSeconds > 0 ? epochSeconds / step : 0;
        _options.Progress.Report(new TrainingProgress
        {
            Phase = phase,
            Epoch = epoch,
            Epochs = _options.Epochs,
            Step = step,
            StepsPerEpoch = stepsPerEpoch,
            Loss = summary?.Loss ?? (state.EpochImages == 0 ? 0 : state.EpochLossSum / state.EpochImages),
            LearningRate = lr,
            ImagesPerSecond = summary?.ImagesPerSecond ?? state.EpochImages / Math.Max(epochSeconds, 1e-9),
            ValidationMap = _lastRawMap,
            EmaValidationMap = _lastEmaMap,
            Elapsed = _clock.Elapsed,
            Remaining = secondsPerStep > 0 ? TimeSpan.FromSeconds(stepsLeft * secondsPerStep) : null,
        });
    }
}
