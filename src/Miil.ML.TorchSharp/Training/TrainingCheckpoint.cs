using System.Text.Json;
using Miil.ML.TorchSharp.Checkpoints;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Training;

/// <summary>What identifies a run: a checkpoint resumes only the run it came from.</summary>
internal sealed record TrainingFingerprint(
    string Architecture, int[] Layers, double WidthFactor, string[] ClassNames, int ImageSize, int BatchSize,
    int ScheduleEpochs, int Rows, int Seed, double? EmaDecay, string Loss, double LearningRate, double WeightDecay, string WeightDecayKind,
    string Augmentation, string Data)
{
    public IEnumerable<string> DifferencesFrom(TrainingFingerprint other)
    {
        if (Architecture != other.Architecture || !Layers.SequenceEqual(other.Layers) || WidthFactor != other.WidthFactor)
        {
            yield return $"architecture {other.Architecture} [{string.Join(",", other.Layers)}] x{other.WidthFactor} vs {Architecture} [{string.Join(",", Layers)}] x{WidthFactor}";
        }
        if (!ClassNames.SequenceEqual(other.ClassNames))
        {
            yield return $"classes [{string.Join(", ", other.ClassNames)}] vs [{string.Join(", ", ClassNames)}]";
        }
        foreach ((string name, object a, object b) in new (string, object, object)[]
        {
            ("image size", other.ImageSize, ImageSize), ("batch size", other.BatchSize, BatchSize), ("schedule epochs", other.ScheduleEpochs, ScheduleEpochs),
            ("training rows", other.Rows, Rows), ("seed", other.Seed, Seed), ("EMA decay", other.EmaDecay?.ToString() ?? "off", EmaDecay?.ToString() ?? "off"),
            ("loss", other.Loss, Loss), ("learning rate", other.LearningRate, LearningRate), ("weight decay", other.WeightDecay, WeightDecay),
            ("weight decay kind", other.WeightDecayKind, WeightDecayKind), ("augmentation", other.Augmentation, Augmentation),
            ("training data (paths and labels)", other.Data, Data),
        })
        {
            if (!a.Equals(b))
            {
                yield return $"{name} {a} vs {b}";
            }
        }
    }
}

/// <summary>Where a run stands: enough, with the tensors, to continue it exactly.</summary>
internal sealed class TrainingState
{
    public int Version { get; set; } = 1;

    public required TrainingFingerprint Fingerprint { get; set; }

    /// <summary>Epochs completed.</summary>
    public int Epoch { get; set; }

    /// <summary>Batches done in the epoch under way.</summary>
    public int BatchInEpoch { get; set; }

    /// <summary>Optimiser steps taken over the run.</summary>
    public long Step { get; set; }

    public double EpochLossSum { get; set; }

    public long EpochImages { get; set; }

    public int EpochSkipped { get; set; }

    public double EpochSeconds { get; set; }

    public double? BestMap { get; set; }

    public int BestEpoch { get; set; }

    /// <summary>"raw" or "ema".</summary>
    public string? BestSource { get; set; }

    public int EpochsWithoutImprovement { get; set; }

    public List<EpochSummary> History { get; set; } = [];
}

/// <summary>
/// The run's checkpoint: one safetensors file (model, EMA, optimiser moments, best weights so far)
/// with the <see cref="TrainingState"/> as JSON metadata, written atomically.
/// </summary>
internal static class TrainingCheckpoint
{
    public const string FileName = TResNetAslOptions.CheckpointFileName;

    private const string StateKey = "miil.training";

    public static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    public static void Save(string path, TrainingState state, IEnumerable<(string Name, Tensor Tensor)> tensors)
        => SafetensorsFile.Write(path, tensors, new Dictionary<string, string> { [StateKey] = JsonSerializer.Serialize(state, Json) });

    /// <summary>The seed of the run whose checkpoint is at <paramref name="path"/>, or null when there is none (reads the header only).</summary>
    public static int? SeedOf(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }
        SafetensorsFile.Contents contents = SafetensorsFile.Read(path, metadataOnly: true);
        return contents.Metadata.TryGetValue(StateKey, out string? json) ? JsonSerializer.Deserialize<TrainingState>(json, Json)?.Fingerprint.Seed : null;
    }

    /// <summary>Reads a checkpoint; the caller disposes the tensors.</summary>
    public static (TrainingState State, Dictionary<string, Tensor> Tensors) Load(string path)
    {
        SafetensorsFile.Contents contents = SafetensorsFile.Read(path);
        var tensors = contents.Tensors.ToDictionary(t => t.Name, t => t.Tensor, StringComparer.Ordinal);
        try
        {
            if (!contents.Metadata.TryGetValue(StateKey, out string? json))
            {
                throw new CheckpointFormatException(path, "not a TResNetAsl training checkpoint (no training state in its metadata).");
            }
            TrainingState state;
            try
            {
                state = JsonSerializer.Deserialize<TrainingState>(json, Json) ?? throw new JsonException("empty state");
            }
            catch (JsonException e)
            {
                throw new CheckpointFormatException(path, $"its training state cannot be read ({e.Message}).", e);
            }
            return (state, tensors);
        }
        catch
        {
            foreach (Tensor t in tensors.Values)
            {
                t.Dispose();
            }
            throw;
        }
    }

    /// <summary>Copies the tensors named <paramref name="prefix"/> + key into <paramref name="target"/>'s state.</summary>
    public static void CopyInto(Dictionary<string, Tensor> target, IReadOnlyDictionary<string, Tensor> tensors, string prefix, string path)
    {
        using IDisposable noGrad = no_grad();
        foreach ((string key, Tensor value) in target)
        {
            if (!tensors.TryGetValue(prefix + key, out Tensor? saved) || !saved.shape.SequenceEqual(value.shape))
            {
                throw new CheckpointFormatException(path, $"tensor '{prefix + key}' is missing or of another shape.");
            }
            value.copy_(saved);
        }
    }
}
