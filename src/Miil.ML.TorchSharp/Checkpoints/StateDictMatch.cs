using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Checkpoints;

/// <summary>
/// How a checkpoint's tensors (already under the model's key names) meet a model's, for every family:
/// the body must fit exactly; head tensors that do not fit (another class count, another kind of head)
/// are left out and the model keeps those freshly initialised; anything else that does not fit is a
/// <see cref="CheckpointFormatException"/> listing the keys, never a silent partial load.
/// </summary>
internal static class StateDictMatch
{
    /// <summary>What fits, what was left out of the head, and whether the head was (partly) replaced.</summary>
    public sealed record Result(IReadOnlyDictionary<string, Tensor> Load, IReadOnlyList<string> Skipped, bool HeadReplaced);

    /// <param name="path">The file, for messages.</param>
    /// <param name="model">What the model is, for messages ("TResNet-M with 80 classes").</param>
    /// <param name="target">The model's state dict.</param>
    /// <param name="source">The file's tensors under the model's keys.</param>
    /// <param name="unknown">The file's keys that have no place in the model.</param>
    /// <param name="isHead">Whether a key belongs to the head.</param>
    public static Result Match(string path, string model, IReadOnlyDictionary<string, Tensor> target, IReadOnlyDictionary<string, Tensor> source,
        IReadOnlyList<string> unknown, Func<string, bool> isHead)
    {
        var load = new Dictionary<string, Tensor>(source, StringComparer.Ordinal);
        var stillUnknown = unknown.ToList();
        var skipped = new List<string>();
        bool headDiffers = unknown.Any(isHead)
            || target.Where(kv => isHead(kv.Key)).Any(kv => load.TryGetValue(kv.Key, out Tensor? s) ? !s.shape.SequenceEqual(kv.Value.shape) : !IsCounter(kv.Key));
        if (headDiffers)
        {
            foreach (string key in load.Keys.Where(k => isHead(k) && !target[k].shape.SequenceEqual(load[k].shape)).ToList())
            {
                skipped.Add(key);
                load.Remove(key);
            }
            skipped.AddRange(stillUnknown.Where(isHead));
            stillUnknown.RemoveAll(k => isHead(k));
        }
        var missing = target.Keys.Where(k => !load.ContainsKey(k) && !IsCounter(k) && !(headDiffers && isHead(k))).ToList();
        var wrongShape = load.Where(kv => !kv.Value.shape.SequenceEqual(target[kv.Key].shape))
            .Select(kv => $"{kv.Key} is [{string.Join(", ", kv.Value.shape)}] in the file but [{string.Join(", ", target[kv.Key].shape)}] in the model")
            .ToList();
        if (stillUnknown.Count + missing.Count + wrongShape.Count > 0)
        {
            // Shapes first: a tensor of the wrong shape under the right key says most about what is wrong.
            throw new CheckpointFormatException(path,
                $"does not fit {model}." + Listed("shape mismatches", wrongShape) + Listed("missing keys", missing) + Listed("unknown keys", stillUnknown));
        }
        return new Result(load, skipped, headDiffers);
    }

    /// <summary>Batch norm's step counter: optional (released MIIL files lack it; it does not change what the model computes).</summary>
    private static bool IsCounter(string key) => key.EndsWith(".num_batches_tracked", StringComparison.Ordinal);

    private static string Listed(string what, IReadOnlyList<string> keys)
        => keys.Count == 0 ? "" : $" {keys.Count} {what}: {string.Join(", ", keys.Take(12))}{(keys.Count > 12 ? ", ..." : "")}.";
}
