using Miil.ML.TorchSharp.Numerics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Miil.ML.TorchSharp.Checkpoints;
using Miil.ML.TorchSharp.Models.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Models.TResNet;

/// <summary>
/// Checkpoint compatibility for <see cref="TResNet"/>: imports the original MIIL checkpoints and
/// timm's, converts In-Place ABN norms, replaces the head for a new class count, and saves and
/// loads this library's own checkpoints.
/// </summary>
/// <remarks>
/// <para>Layouts: the original MIIL keys (<c>conv1.0.weight</c>, <c>conv1.1.*</c>) and timm's
/// (<c>conv1.conv.weight</c>, <c>conv1.bn.*</c>), told apart by the keys and mapped to this model's
/// (MIIL) keys.</para>
/// <para>In-Place ABN: MIIL checkpoints were trained with In-Place ABN, whose effective scale is
/// |weight| + 1e-5; loading into plain batch norm converts weight to |weight| + 1e-5. The decision
/// follows the layout, as timm's does: MIIL layout converted (unless the file's own metadata says
/// plain batch norm, as this library's checkpoints do), timm layout never (timm converts when it
/// writes). <c>num_batches_tracked</c> is not the signal: inplace_abn 1.1 checkpoints have it.
/// <see cref="TResNetLoadOptions.InPlaceAbn"/> forces either way.</para>
/// </remarks>
internal static partial class TResNetCheckpoint
{
    /// <summary>Key of this library's metadata in a safetensors header.</summary>
    internal const string MetadataKey = "miil.ml";

    private const double InPlaceAbnEpsilon = 1e-5;

    /// <summary>Loads <paramref name="path"/> into <paramref name="model"/>.</summary>
    /// <returns>What was loaded: layout, conversion, class names, skipped head keys.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="CheckpointFormatException">The file cannot be read, or its keys or shapes do not fit the model; the message lists them.</exception>
    public static TResNetCheckpointInfo Load(TResNet model, string path, TResNetLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new TResNetLoadOptions();
        using CheckpointFile.Contents contents = CheckpointFile.Read(path);
        return Apply(model, path, contents, options);
    }

    /// <summary>
    /// Builds the TResNet a checkpoint describes (architecture from this library's metadata, or
    /// inferred from the tensors) and loads it. <paramref name="classCount"/> other than the
    /// checkpoint's replaces the head.
    /// </summary>
    /// <exception cref="CheckpointFormatException">The file cannot be read or is not a TResNet.</exception>
    public static (TResNet Model, TResNetCheckpointInfo Info) LoadModel(string path, int? classCount = null, TResNetLoadOptions? options = null)
    {
        using CheckpointFile.Contents contents = CheckpointFile.Read(path);
        return LoadModel(path, contents, classCount, options);
    }

    /// <summary><see cref="LoadModel(string, int?, TResNetLoadOptions?)"/> of a file already read.</summary>
    public static (TResNet Model, TResNetCheckpointInfo Info) LoadModel(string path, CheckpointFile.Contents contents, int? classCount = null, TResNetLoadOptions? options = null)
    {
        options ??= new TResNetLoadOptions();
        TResNetCheckpointMetadata? ours = OwnMetadata(path, contents);
        IReadOnlyDictionary<string, Tensor> keys = MiilNamed(contents.StateDict);
        TResNetArchitecture architecture = ours?.ToArchitecture() ?? InferArchitecture(path, keys);
        int? bottleneck = keys.TryGetValue("head.fc.embedding_generator.0.weight", out Tensor? emb) ? (int)emb.shape[0] : null;
        (ClassifierHead head, int classes) = InferHead(path, keys);
        int inChannels = (int)(keys["body.conv1.0.weight"].shape[1] / (TResNet.StemBlockSize * TResNet.StemBlockSize));
        var model = new TResNet(architecture, classCount ?? classes, bottleneck, inChannels, ours?.ToHead() ?? head);
        try
        {
            return (model, Apply(model, path, contents, options));
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Saves <paramref name="model"/> as safetensors with this library's metadata (architecture,
    /// classes, image size, norm kind) in the header, through a temporary file and a rename. Loading
    /// it back gives the same tensors bit for bit.
    /// </summary>
    public static void Save(TResNet model, string path, IReadOnlyList<string>? classNames = null, int? imageSize = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (classNames is not null && classNames.Count != model.ClassCount)
        {
            throw new ArgumentException($"{classNames.Count} class names for a model with {model.ClassCount} outputs.", nameof(classNames));
        }
        var metadata = TResNetCheckpointMetadata.From(model, classNames, imageSize);
        SafetensorsFile.Write(path,
            model.StateDictInReferenceOrder(),
            new Dictionary<string, string> { [MetadataKey] = JsonSerializer.Serialize(metadata, TResNetCheckpointMetadata.Json) });
    }

    /// <summary>The layout of a state dict's keys, or null when it is not a TResNet's.</summary>
    public static TResNetCheckpointLayout? DetectLayout(IEnumerable<string> keys)
    {
        bool timm = false, miil = false;
        foreach (string key in keys)
        {
            timm |= key.StartsWith("body.conv1.conv.", StringComparison.Ordinal);
            miil |= key.StartsWith("body.conv1.0.", StringComparison.Ordinal);
        }
        return miil == timm ? null : miil ? TResNetCheckpointLayout.Miil : TResNetCheckpointLayout.Timm;
    }

    /// <summary>
    /// The MIIL key of a timm key. timm names every conv-norm unit <c>conv</c>/<c>bn</c>; the MIIL key
    /// is <c>0</c>/<c>1</c>, or <c>0.0</c>/<c>0.1</c> where the unit sits in front of anti-aliasing,
    /// which <paramref name="modelKeys"/> (the target model's keys) tells.
    /// </summary>
    internal static string? MapTimmKey(string key, IReadOnlySet<string> modelKeys)
    {
        Match m = TimmUnit().Match(key);
        if (!m.Success)
        {
            return modelKeys.Contains(key) ? key : null;
        }
        string prefix = m.Groups["prefix"].Value, rest = m.Groups["rest"].Value;
        string index = m.Groups["kind"].Value == "conv" ? "0" : "1";
        foreach (string candidate in new[] { $"{prefix}.0.{index}.{rest}", $"{prefix}.{index}.{rest}" })
        {
            if (modelKeys.Contains(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    [GeneratedRegex(@"^(?<prefix>.+)\.(?<kind>conv|bn)\.(?<rest>[^.]+)$")]
    private static partial Regex TimmUnit();

    private static TResNetCheckpointInfo Apply(TResNet model, string path, CheckpointFile.Contents contents, TResNetLoadOptions options)
    {
        TResNetCheckpointLayout layout = DetectLayout(contents.StateDict.Keys)
            ?? throw new CheckpointFormatException(path, "not a TResNet state dict: neither body.conv1.0.* (MIIL) nor body.conv1.conv.* (timm) keys.");
        TResNetCheckpointMetadata? ours = OwnMetadata(path, contents);

        Dictionary<string, Tensor> target = model.state_dict();
        var modelKeys = new HashSet<string>(target.Keys, StringComparer.Ordinal);
        var source = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var unknown = new List<string>();
        foreach ((string key, Tensor value) in contents.StateDict)
        {
            string? mapped = layout == TResNetCheckpointLayout.Timm ? MapTimmKey(key, modelKeys) : key;
            if (mapped is null || !modelKeys.Contains(mapped))
            {
                unknown.Add(key);
            }
            else
            {
                source[mapped] = value;
            }
        }

        StateDictMatch.Result match = StateDictMatch.Match(path, $"{model.Architecture} with {model.ClassCount} classes, {model.Head} head ({layout} layout)",
            target, source, unknown, key => key.StartsWith("head.", StringComparison.Ordinal));

        bool convert = options.InPlaceAbn switch
        {
            InPlaceAbnConversion.Always => true,
            InPlaceAbnConversion.Never => false,
            _ => layout == TResNetCheckpointLayout.Miil && ours?.Norm != TResNetCheckpointMetadata.PlainBatchNorm,
        };
        HashSet<string> normWeights = NormWeightKeys(model);
        using (no_grad())
        {
            foreach ((string key, Tensor value) in match.Load)
            {
                Tensor destination = target[key];
                if (convert && normWeights.Contains(key))
                {
                    using Scalar epsilon = InPlaceAbnEpsilon.ToScalar();  // held across the call (Numerics.Scalars)
                    using Tensor converted = value.abs().add_(epsilon, Scalars.One);
                    destination.copy_(converted);
                }
                else
                {
                    destination.copy_(value);
                }
            }
        }

        return new TResNetCheckpointInfo
        {
            Path = path,
            Layout = layout,
            ConvertedInPlaceAbn = convert,
            CheckpointClassCount = contents.ClassCount ?? ours?.ClassCount,
            ClassNames = ours?.ClassNames ?? contents.ClassNames,
            ImageSize = ours?.ImageSize,
            HeadReplaced = match.HeadReplaced,
            SkippedKeys = match.Skipped,
        };
    }

    private static HashSet<string> NormWeightKeys(TResNet model)
        => model.named_modules().Where(m => m.module is BatchNormAct2d).Select(m => m.name + ".weight").ToHashSet(StringComparer.Ordinal);

    private static TResNetCheckpointMetadata? OwnMetadata(string path, CheckpointFile.Contents contents)
    {
        if (!contents.Metadata.TryGetValue(MetadataKey, out string? json))
        {
            return null;
        }
        try
        {
            TResNetCheckpointMetadata metadata = JsonSerializer.Deserialize<TResNetCheckpointMetadata>(json, TResNetCheckpointMetadata.Json)
                ?? throw new JsonException("empty");
            if (metadata.Format != TResNetCheckpointMetadata.FormatName || metadata.Version > TResNetCheckpointMetadata.CurrentVersion)
            {
                throw new CheckpointFormatException(path,
                    $"is a '{metadata.Format}' checkpoint of version {metadata.Version}; this Miil.ML reads '{TResNetCheckpointMetadata.FormatName}' up to version {TResNetCheckpointMetadata.CurrentVersion}. Update Miil.ML to load it.");
            }
            return metadata;
        }
        catch (JsonException e)
        {
            throw new CheckpointFormatException(path, $"its '{MetadataKey}' metadata is not valid ({e.Message}).", e);
        }
    }

    /// <summary>The state dict with timm keys renamed to MIIL ones, for shape inspection only.</summary>
    private static IReadOnlyDictionary<string, Tensor> MiilNamed(IReadOnlyDictionary<string, Tensor> stateDict)
    {
        if (DetectLayout(stateDict.Keys) != TResNetCheckpointLayout.Timm)
        {
            return stateDict;
        }
        return stateDict.ToDictionary(
            kv => TimmUnit().Replace(kv.Key, m => $"{m.Groups["prefix"].Value}.{(m.Groups["kind"].Value == "conv" ? "0" : "1")}.{m.Groups["rest"].Value}"),
            kv => kv.Value);
    }

    /// <summary>
    /// The head a MIIL-named state dict holds and its class count: ML-Decoder (the model zoo's
    /// <c>head.decoder.*</c>: queries and embedding from <c>query_embed</c>, classes from the group FC's
    /// bias), or the pooling head's linear or bottleneck classifier.
    /// </summary>
    private static (ClassifierHead Head, int Classes) InferHead(string path, IReadOnlyDictionary<string, Tensor> keys)
    {
        if (keys.TryGetValue("head.decoder.query_embed.weight", out Tensor? queries))
        {
            Tensor bias = keys.TryGetValue("head.decoder.duplicate_pooling_bias", out Tensor? b) ? b
                : throw new CheckpointFormatException(path, "an ML-Decoder head without head.decoder.duplicate_pooling_bias.");
            try
            {
                return (ClassifierHead.MLDecoder((int)queries.shape[0], (int)queries.shape[1]), (int)bias.shape[0]);
            }
            catch (ArgumentOutOfRangeException e)
            {
                throw new CheckpointFormatException(path, $"an ML-Decoder head of a shape this library does not build: {e.Message}", e);
            }
        }
        Tensor classifier = keys.TryGetValue("head.fc.weight", out Tensor? fc) ? fc
            : keys.TryGetValue("head.fc.FC.weight", out Tensor? bfc) ? bfc
            : throw new CheckpointFormatException(path, "no classifier: neither head.fc.weight, head.fc.FC.weight (pooling head) nor head.decoder.* (ML-Decoder).");
        return (ClassifierHead.Pooling, (int)classifier.shape[0]);
    }

    /// <summary>The architecture a MIIL-named state dict implies: blocks per stage, stem width, and V2 (bottleneck blocks in the first stage).</summary>
    private static TResNetArchitecture InferArchitecture(string path, IReadOnlyDictionary<string, Tensor> keys)
    {
        if (!keys.TryGetValue("body.conv1.0.weight", out Tensor? stem))
        {
            throw new CheckpointFormatException(path, "not a TResNet state dict: no body.conv1 weight.");
        }
        int planes = (int)stem.shape[0];
        int[] layers = new int[4];
        for (int stage = 0; stage < 4; stage++)
        {
            string prefix = $"body.layer{stage + 1}.";
            layers[stage] = keys.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal))
                .Select(k => int.Parse(k.AsSpan(prefix.Length, k.IndexOf('.', prefix.Length) - prefix.Length), System.Globalization.CultureInfo.InvariantCulture))
                .DefaultIfEmpty(-1).Max() + 1;
        }
        bool v2 = keys.ContainsKey("body.layer1.0.conv3.0.weight");
        foreach (TResNetArchitecture known in new[] { TResNetArchitecture.M, TResNetArchitecture.L, TResNetArchitecture.XL, TResNetArchitecture.V2L })
        {
            if (known.Planes == planes && known.Layers.SequenceEqual(layers) && known.IsV2 == v2)
            {
                return known;
            }
        }
        try
        {
            return TResNetArchitecture.Custom(layers, planes / 64.0, v2);
        }
        catch (ArgumentException e)
        {
            throw new CheckpointFormatException(path, $"not a TResNet state dict: {e.Message}", e);
        }
    }
}
