using System.Collections;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Checkpoints;

/// <summary>
/// Reads the tensors and the metadata of a checkpoint file, whatever its format: PyTorch's zip
/// pickle (<c>torch.save</c>; a bare state dict, or the MIIL model zoo's wrapper with
/// <c>model</c> / <c>state_dict</c>, <c>num_classes</c> and <c>idx_to_class</c>) or safetensors.
/// The format is told by the file's first bytes, not its extension.
/// </summary>
internal static class CheckpointFile
{
    /// <summary>What a checkpoint file holds.</summary>
    /// <param name="StateDict">Tensors by key, in the file's order where the format keeps one.</param>
    /// <param name="ClassCount">The wrapper's <c>num_classes</c>, if any.</param>
    /// <param name="ClassNames">The wrapper's <c>idx_to_class</c> in index order, if any.</param>
    /// <param name="Metadata">safetensors <c>__metadata__</c> (empty for pickles).</param>
    public sealed record Contents(
        IReadOnlyDictionary<string, Tensor> StateDict,
        int? ClassCount,
        IReadOnlyList<string>? ClassNames,
        IReadOnlyDictionary<string, string> Metadata) : IDisposable
    {
        public void Dispose()
        {
            foreach (Tensor t in StateDict.Values)
            {
                t.Dispose();
            }
        }
    }

    public static Contents Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Checkpoint '{path}' does not exist.", path);
        }
        byte[] head = new byte[8];
        int read;
        using (FileStream stream = File.OpenRead(path))
        {
            read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        }
        if (read >= 4 && head[0] == 0x50 && head[1] == 0x4b && head[2] == 0x03 && head[3] == 0x04)
        {
            return ReadPickle(path);
        }
        if (read >= 2 && head[0] == 0x80 && head[1] <= 5)
        {
            throw new CheckpointFormatException(path,
                "a PyTorch file in the legacy (pre-1.6, non-zip) format. Re-save it with torch.save(obj, path) from PyTorch 1.6 or later.");
        }
        if (read == 8 && head[7] == 0 && head[6] == 0)  // a plausible little-endian header length
        {
            SafetensorsFile.Contents contents = SafetensorsFile.Read(path);
            var ordered = new OrderedStateDict();
            foreach ((string name, Tensor tensor) in contents.Tensors)
            {
                ordered.Add(name, tensor);
            }
            return new Contents(ordered, null, null, contents.Metadata);
        }
        throw new CheckpointFormatException(path, "neither a PyTorch checkpoint (zip) nor a safetensors file.");
    }

    private static Contents ReadPickle(string path)
    {
        Hashtable root;
        try
        {
            root = PyTorchUnpickler.UnpickleStateDict(path);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Razorvine's unpickler builds no arbitrary objects: a pickle naming other callables fails
            // here without running them.
            throw new CheckpointFormatException(path, $"cannot be read as a PyTorch checkpoint ({e.GetType().Name}: {e.Message}).", e);
        }
        if (root is null)
        {
            throw new CheckpointFormatException(path, "the pickle holds no dictionary.");
        }

        Hashtable stateDict = root;
        int? classCount = null;
        IReadOnlyList<string>? classNames = null;
        foreach (string wrapperKey in new[] { "model", "state_dict" })
        {
            if (root.ContainsKey(wrapperKey))
            {
                stateDict = root[wrapperKey] as Hashtable
                    ?? throw new CheckpointFormatException(path, $"'{wrapperKey}' is not a state dict.");
                classCount = root["num_classes"] switch
                {
                    null => null,
                    int n => n,
                    long n => checked((int)n),
                    var other => throw new CheckpointFormatException(path, $"'num_classes' is {other.GetType().Name}, not an integer."),
                };
                classNames = root["idx_to_class"] is Hashtable names ? ClassNames(path, names) : null;
                break;
            }
        }

        var result = new OrderedStateDict();
        foreach (DictionaryEntry entry in stateDict)
        {
            if (entry.Key is not string key || entry.Value is not Tensor tensor)
            {
                throw new CheckpointFormatException(path,
                    $"entry '{entry.Key}' is a {entry.Value?.GetType().Name ?? "null"}, not a tensor: not a model state dict.");
            }
            result.Add(key, tensor);
        }
        if (result.Count == 0)
        {
            throw new CheckpointFormatException(path, "the state dict is empty.");
        }
        return new Contents(result, classCount, classNames, new Dictionary<string, string>());
    }

    private static List<string> ClassNames(string path, Hashtable idxToClass)
    {
        var names = new SortedDictionary<long, string>();
        foreach (DictionaryEntry e in idxToClass)
        {
            long index = e.Key switch
            {
                int i => i,
                long l => l,
                string s when long.TryParse(s, out long p) => p,
                _ => throw new CheckpointFormatException(path, $"'idx_to_class' has the key '{e.Key}', not a class index."),
            };
            names[index] = e.Value?.ToString() ?? "";
        }
        if (names.Count > 0 && (names.Keys.First() != 0 || names.Keys.Last() != names.Count - 1))
        {
            throw new CheckpointFormatException(path, $"'idx_to_class' indices are not 0..{names.Count - 1}.");
        }
        return names.Values.ToList();
    }

    /// <summary>A dictionary that enumerates in insertion order.</summary>
    private sealed class OrderedStateDict : IReadOnlyDictionary<string, Tensor>
    {
        private readonly Dictionary<string, Tensor> _map = new(StringComparer.Ordinal);
        private readonly List<string> _order = [];

        public void Add(string key, Tensor value)
        {
            _map.Add(key, value);
            _order.Add(key);
        }

        public Tensor this[string key] => _map[key];

        public IEnumerable<string> Keys => _order;

        public IEnumerable<Tensor> Values => _order.Select(k => _map[k]);

        public int Count => _order.Count;

        public bool ContainsKey(string key) => _map.ContainsKey(key);

        public bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out Tensor value) => _map.TryGetValue(key, out value);

        public IEnumerator<KeyValuePair<string, Tensor>> GetEnumerator() => _order.Select(k => new KeyValuePair<string, Tensor>(k, _map[k])).GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
