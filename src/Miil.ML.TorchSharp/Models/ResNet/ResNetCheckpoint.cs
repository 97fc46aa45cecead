using System.Text.Json;
using System.Text.Json.Serialization;
using Miil.ML.TorchSharp.Checkpoints;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Models.ResNet;

/// <summary>
/// ResNet checkpoints: torchvision's and timm's (the same keys: <c>conv1</c>, <c>bn1</c>,
/// <c>layerN.i.*</c>, <c>fc</c>; <c>fc.*</c> is this library's <c>head.fc.*</c>), this library's own
/// (safetensors with the architecture in the header), and ML.NET's ImageNet ResNet18 ONNX file
/// (<see cref="MLNetResNet18"/>). The head follows the rules of every family (<see cref="StateDictMatch"/>).
/// </summary>
internal static class ResNetCheckpoint
{
    /// <summary>What <see cref="Metadata.Format"/> says in this library's ResNet checkpoints.</summary>
    public const string FormatName = "miil.ml/resnet";

    /// <summary>Key of this library's metadata in a safetensors header (every family's).</summary>
    public const string MetadataKey = "miil.ml";

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Whether a state dict's keys are a ResNet's (torchvision's or ours).</summary>
    public static bool IsResNet(IEnumerable<string> keys)
    {
        var set = keys.ToHashSet(StringComparer.Ordinal);
        return set.Contains("conv1.weight") && set.Contains("layer1.0.conv1.weight");
    }

    /// <summary>Loads <paramref name="path"/> (torchvision/timm, ours, or ML.NET's ONNX) into <paramref name="model"/>.</summary>
    public static void Load(ResNet model, string path)
    {
        if (MLNetResNet18.IsOnnx(path))
        {
            MLNetResNet18.Load(model, path);
            return;
        }
        using CheckpointFile.Contents contents = CheckpointFile.Read(path);
        Apply(model, path, contents);
    }

    /// <summary>The ResNet a checkpoint describes (architecture from our metadata or from the tensors), with its weights.</summary>
    public static ResNet LoadModel(string path, CheckpointFile.Contents contents)
    {
        Metadata? ours = OwnMetadata(path, contents);
        IReadOnlyDictionary<string, Tensor> keys = contents.StateDict;
        ResNetArchitecture architecture = ours?.ToArchitecture() ?? Infer(path, keys);
        (ClassifierHead head, int classes) = ours is not null ? (ours.ToHead(), ours.ClassCount) : InferHead(path, keys);
        var model = new ResNet(architecture, classes, head, architecture.IsMLNet ? Named(keys, "input_mean.mean") : null);
        try
        {
            Apply(model, path, contents);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Writes <paramref name="model"/> as safetensors with this library's metadata, atomically.</summary>
    public static void Save(ResNet model, string path, IReadOnlyList<string>? classNames, int? imageSize)
    {
        if (classNames is not null && classNames.Count != model.ClassCount)
        {
            throw new ArgumentException($"{classNames.Count} class names for a model with {model.ClassCount} outputs.", nameof(classNames));
        }
        var metadata = new Metadata
        {
            Name = model.Architecture.Name,
            Layers = model.Architecture.Layers.ToArray(),
            Bottleneck = model.Architecture.IsBottleneck,
            BasePlanes = model.Architecture.BasePlanes,
            Mlnet = model.Architecture.IsMLNet,
            ClassCount = model.ClassCount,
            MlDecoder = model.Head.IsMLDecoder ? new MLDecoderShape(model.Head.Groups, model.Head.Embedding) : null,
            ClassNames = classNames,
            ImageSize = imageSize,
        };
        SafetensorsFile.Write(path, model.StateDictInReferenceOrder(), new Dictionary<string, string> { [MetadataKey] = JsonSerializer.Serialize(metadata, Json) });
    }

    /// <summary>Our key of a torchvision key: the classifier <c>fc</c> (or ML_Decoder's <c>fc.decoder</c> on a ResNet) is the head.</summary>
    internal static string OurKey(string key) => key.StartsWith("fc.", StringComparison.Ordinal) ? "head." + key : key;

    private static void Apply(ResNet model, string path, CheckpointFile.Contents contents)
    {
        if (!IsResNet(contents.StateDict.Keys))
        {
            throw new CheckpointFormatException(path, "not a ResNet state dict: no conv1.weight and layer1.0.conv1.weight (torchvision's and timm's keys).");
        }
        Dictionary<string, Tensor> target = model.state_dict();
        var source = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var unknown = new List<string>();
        foreach ((string key, Tensor value) in contents.StateDict)
        {
            string ours = OurKey(key);
            if (target.ContainsKey(ours))
            {
                source[ours] = value;
            }
            else
            {
                unknown.Add(key);
            }
        }
        StateDictMatch.Result match = StateDictMatch.Match(path, $"{model.Architecture} with {model.ClassCount} classes, {model.Head} head",
            target, source, unknown, key => key.StartsWith("head.", StringComparison.Ordinal) || key.StartsWith("fc.", StringComparison.Ordinal));
        using (no_grad())
        {
            foreach ((string key, Tensor value) in match.Load)
            {
                target[key].copy_(value);
            }
        }
    }

    private static ResNetArchitecture Infer(string path, IReadOnlyDictionary<string, Tensor> keys)
    {
        if (!keys.TryGetValue("conv1.weight", out Tensor? stem))
        {
            throw new CheckpointFormatException(path, "not a ResNet state dict: no conv1.weight.");
        }
        int[] layers = new int[4];
        for (int stage = 0; stage < 4; stage++)
        {
            string prefix = $"layer{stage + 1}.";
            layers[stage] = keys.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal))
                .Select(k => int.Parse(k.AsSpan(prefix.Length, k.IndexOf('.', prefix.Length) - prefix.Length), System.Globalization.CultureInfo.InvariantCulture))
                .DefaultIfEmpty(-1).Max() + 1;
        }
        try
        {
            return ResNetArchitecture.Custom(layers, bottleneck: keys.ContainsKey("layer1.0.conv3.weight"), basePlanes: (int)stem.shape[0]);
        }
        catch (ArgumentException e)
        {
            throw new CheckpointFormatException(path, $"not a ResNet state dict: {e.Message}", e);
        }
    }

    private static (ClassifierHead Head, int Classes) InferHead(string path, IReadOnlyDictionary<string, Tensor> keys)
    {
        foreach (string prefix in new[] { "head.decoder.", "fc.decoder." })
        {
            if (keys.TryGetValue(prefix + "query_embed.weight", out Tensor? queries) && keys.TryGetValue(prefix + "duplicate_pooling_bias", out Tensor? bias))
            {
                return (ClassifierHead.MLDecoder((int)queries.shape[0], (int)queries.shape[1]), (int)bias.shape[0]);
            }
        }
        Tensor fc = keys.TryGetValue("fc.weight", out Tensor? f) ? f
            : keys.TryGetValue("head.fc.weight", out Tensor? h) ? h
            : throw new CheckpointFormatException(path, "no classifier (fc.weight): a backbone without a head loads into a network made for your classes (LoadWeights).");
        return (ClassifierHead.Pooling, (int)fc.shape[0]);
    }

    private static Tensor? Named(IReadOnlyDictionary<string, Tensor> keys, string key) => keys.TryGetValue(key, out Tensor? t) ? t : null;

    private static Metadata? OwnMetadata(string path, CheckpointFile.Contents contents)
    {
        if (!contents.Metadata.TryGetValue(MetadataKey, out string? json))
        {
            return null;
        }
        try
        {
            Metadata metadata = JsonSerializer.Deserialize<Metadata>(json, Json) ?? throw new JsonException("empty");
            if (metadata.Format != FormatName || metadata.Version > Metadata.CurrentVersion)
            {
                throw new CheckpointFormatException(path,
                    $"is a '{metadata.Format}' checkpoint of version {metadata.Version}; this Miil.ML reads '{FormatName}' up to version {Metadata.CurrentVersion}. Update Miil.ML to load it.");
            }
            return metadata;
        }
        catch (JsonException e)
        {
            throw new CheckpointFormatException(path, $"its '{MetadataKey}' metadata is not valid ({e.Message}).", e);
        }
    }

    /// <summary>ML-Decoder's shape in the metadata.</summary>
    internal sealed record MLDecoderShape(int Queries, int Embedding);

    /// <summary>This library's ResNet checkpoint metadata (JSON in the safetensors header).</summary>
    internal sealed record Metadata
    {
        /// <summary>The version this code writes and the newest it reads.</summary>
        public const int CurrentVersion = 1;

        public string Format { get; init; } = FormatName;

        public int Version { get; init; } = CurrentVersion;

        public required string Name { get; init; }

        public required int[] Layers { get; init; }

        public bool Bottleneck { get; init; }

        public int BasePlanes { get; init; } = 64;

        public bool Mlnet { get; init; }

        [JsonPropertyName("num_classes")]
        public required int ClassCount { get; init; }

        public MLDecoderShape? MlDecoder { get; init; }

        public IReadOnlyList<string>? ClassNames { get; init; }

        public int? ImageSize { get; init; }

        public ResNetArchitecture ToArchitecture() => Mlnet ? ResNetArchitecture.MLNetResNet18 : ResNetArchitecture.Custom(Layers, Bottleneck, BasePlanes);

        public ClassifierHead ToHead() => MlDecoder is { } d ? ClassifierHead.MLDecoder(d.Queries, d.Embedding) : ClassifierHead.Pooling;
    }
}
