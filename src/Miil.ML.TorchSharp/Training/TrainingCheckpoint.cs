using Miil.ML.Reports;
using System.Text.Json;
using Miil.ML.TorchSharp.Checkpoints;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Training;

/// <summary>What identifies a run: a checkpoint resumes only the run it came from.</summary>
internal sealed record TrainingFingerprint(
    string Network, string[] ClassNames, int ImageSize, int BatchSize, int ScheduleEpochs, int Rows, int Seed, double? EmaDecay, string Loss,
    double LearningRate, double WeightDecay, string WeightDecayKind, string Augmentation, string Data, string FineTuning = "none")
{
    public IEnumerable<string> DifferencesFrom(TrainingFingerprint other)
    {
        if (!ClassNames.SequenceEqual(other.ClassNames))
        {
            yield return $"classes [{string.Join(", ", other.ClassNames)}] vs [{string.Join(", ", ClassNames)}]";
        }
        foreach ((string name, object a, object b) in new (string, object, object)[]
        {
            ("network", other.Network, Network),
            ("image size", other.ImageSize, ImageSize), ("batch size", other.BatchSize, BatchSize), ("schedule epochs", other.ScheduleEpochs, ScheduleEpochs),
            ("training rows", other.Rows, Rows), ("seed", other.Seed, Seed), ("EMA decay", other.EmaDecay?.ToString() ?? "off", EmaDecay?.ToString() ?? "off"),
            ("loss", other.Loss, Loss), ("learning rate", other.LearningRate, LearningRate), ("weight decay", other.WeightDecay, WeightDecay),
            ("weight decay kind", other.WeightDecayKind, WeightDecayKind), ("augmentation", other.Augmentation, Augmentation),
            ("training data (paths and labels)", other.Data, Data), ("fine-tuning", other.FineTuning, FineTuning),
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
    /// <summary>The format version this code writes and the newest it reads.</summary>
    public const int CurrentVersion = 2;

    /// <summary>
    /// Version of the state's format: 1 had the network as architecture fields and the selected
    /// weights as a string; 2 has the network's description and an enum.
    /// </summary>
    public int Version { get; set; } = CurrentVersion;

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

    /// <summary>Which weights are the best so far, or null before the first validation.</summary>
    [System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<SelectedWeights>))]
    public SelectedWeights? BestSource { get; set; }

    public int EpochsWithoutImprovement { get; set; }

    public List<EpochSummary> History { get; set; } = [];
}

/// <summary>
/// The run's checkpoint: one safetensors file (model, EMA, optimiser moments, best weights so far)
/// with the <see cref="TrainingState"/> as JSON metadata, written atomically.
/// </summary>
/// <remarks>
/// Format: tensors named <c>model.*</c>, <c>optimizer.exp_avg.*</c>, <c>optimizer.exp_avg_sq.*</c>,
/// <c>ema.*</c>, <c>best.*</c> (float32, the model's state-dict keys after the prefix); metadata key
/// <c>miil.training</c> holds the state as JSON with its <c>Version</c>. A state of a newer version is
/// refused, never misread; an older one is refused with the reason (its run cannot be continued).
/// </remarks>
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
        return contents.Metadata.TryGetValue(StateKey, out string? json) ? ReadState(path, json).Fingerprint.Seed : null;
    }

    /// <summary>The state in <paramref name="json"/>, after its version was checked (a newer or older format is refused, never misread).</summary>
    private static TrainingState ReadState(string path, string json)
    {
        try
        {
            int version;
            using (JsonDocument document = JsonDocument.Parse(json))
            {
                version = document.RootElement.TryGetProperty(nameof(TrainingState.Version), out JsonElement v) && v.TryGetInt32(out int n) ? n : 0;
            }
            if (version != TrainingState.CurrentVersion)
            {
                throw new CheckpointFormatException(path, version > TrainingState.CurrentVersion
                    ? $"holds a training state of format version {version}, newer than this Miil.ML reads ({TrainingState.CurrentVersion}). Update Miil.ML to resume it."
                    : $"holds a training state of format version {version}, written by an earlier Miil.ML; this one writes and resumes version {TrainingState.CurrentVersion}. Delete the file (or use another CheckpointDirectory) to train anew.");
            }
            return JsonSerializer.Deserialize<TrainingState>(json, Json) ?? throw new JsonException("empty state");
        }
        catch (JsonException e)
        {
            throw new CheckpointFormatException(path, $"its training state cannot be read ({e.Message}).", e);
        }
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
                throw new CheckpointFormatException(path, "not a Miil.ML training checkpoint (no training state in its metadata).");
            }
            return (ReadState(path, json), tensors);
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
            if (!tensors.TryGetValue(prefix + key, out Tensor? saved))
            {
                throw new CheckpointFormatException(path, $"tensor '{prefix + key}' is missing.");
            }
            if (!saved.shape.SequenceEqual(value.shape))
            {
                throw new CheckpointFormatException(path,
                    $"tensor '{prefix + key}' is [{string.Join(", ", saved.shape)}] in the file but [{string.Join(", ", value.shape)}] in the model.");
            }
            value.copy_(saved);
        }
    }
}
