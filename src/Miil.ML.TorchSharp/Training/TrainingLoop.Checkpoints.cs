using Miil.ML.Reports;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Training;

internal sealed partial class TrainingLoop
{
    private TrainingState NewState(TrainingData train) => new()
    {
        Fingerprint = new TrainingFingerprint(
            _model.Describe(), train.ClassNames.ToArray(), _options.ImageSize, _options.BatchSize, _options.EffectiveScheduleEpochs, train.Count, _seed,
            _options.EmaDecay, _loss.Description, _options.LearningRate, _options.WeightDecay, _options.WeightDecayKind.ToString(),
            _options.Augmentation.ToString(), train.Digest(), _options.FineTuning),
    };

    /// <summary>Writes the run's checkpoint: model, optimiser moments, EMA and best weights, with the state.</summary>
    private void Save(string path, TrainingState state)
    {
        IEnumerable<(string, Tensor)> tensors = _model.state_dict().Select(kv => ("model." + kv.Key, kv.Value))
            .Concat(_adam.State().Select(t => ("optimizer." + t.Name, t.Tensor)));
        if (_ema is not null)
        {
            tensors = tensors.Concat(_ema.Model.state_dict().Select(kv => ("ema." + kv.Key, kv.Value)));
        }
        if (_best is not null)
        {
            tensors = tensors.Concat(_best.state_dict().Select(kv => ("best." + kv.Key, kv.Value)));
        }
        TrainingCheckpoint.Save(path, state, tensors);
    }

    /// <summary>Restores everything <see cref="Save"/> wrote, after checking that the checkpoint is this run's.</summary>
    private TrainingState Resume(string path, TrainingFingerprint fingerprint)
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
            TrainingCheckpoint.CopyInto(_model.state_dict(), tensors, "model.", path);
            if (_ema is not null)
            {
                TrainingCheckpoint.CopyInto(_ema.Model.state_dict(), tensors, "ema.", path);
            }
            _adam.Restore(tensors.Where(kv => kv.Key.StartsWith("optimizer.", StringComparison.Ordinal))
                .ToDictionary(kv => kv.Key["optimizer.".Length..], kv => kv.Value), state.Step, $"'{path}'");
            if (state.BestSource is not null)
            {
                _best = _model.NewOfSameShape(CPU);
                TrainingCheckpoint.CopyInto(_best.state_dict(), tensors, "best.", path);
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
}
