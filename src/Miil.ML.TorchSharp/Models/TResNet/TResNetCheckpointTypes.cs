using System.Text.Json;
using System.Text.Json.Serialization;

namespace Miil.ML.TorchSharp.Models.TResNet;

/// <summary>Key layout of a TResNet state dict.</summary>
internal enum TResNetCheckpointLayout
{
    /// <summary>The original MIIL code's keys (<c>body.conv1.0.weight</c>, <c>body.conv1.1.*</c>); this model's own.</summary>
    Miil,

    /// <summary>timm 0.9 and later (<c>body.conv1.conv.weight</c>, <c>body.conv1.bn.*</c>).</summary>
    Timm,
}

/// <summary>Whether norm weights are converted from In-Place ABN (w' = |w| + 1e-5) on import.</summary>
internal enum InPlaceAbnConversion
{
    /// <summary>By layout: MIIL converted unless the file's metadata says plain batch norm; timm never.</summary>
    Auto,

    /// <summary>Always convert.</summary>
    Always,

    /// <summary>Never convert (the weights are read as plain batch norm).</summary>
    Never,
}

/// <summary>Options of <see cref="TResNetCheckpoint.Load"/>.</summary>
internal sealed record TResNetLoadOptions
{
    /// <summary>In-Place ABN conversion. Default <see cref="InPlaceAbnConversion.Auto"/>.</summary>
    public InPlaceAbnConversion InPlaceAbn { get; init; } = InPlaceAbnConversion.Auto;
}

/// <summary>What a checkpoint load found and did.</summary>
internal sealed record TResNetCheckpointInfo
{
    /// <summary>The file.</summary>
    public required string Path { get; init; }

    /// <summary>The key layout found.</summary>
    public required TResNetCheckpointLayout Layout { get; init; }

    /// <summary>Whether norm weights were converted from In-Place ABN.</summary>
    public required bool ConvertedInPlaceAbn { get; init; }

    /// <summary>The class count the file declares (MIIL wrapper's <c>num_classes</c>, or this library's metadata), if any.</summary>
    public int? CheckpointClassCount { get; init; }

    /// <summary>Class names in output order (MIIL wrapper's <c>idx_to_class</c>, or this library's metadata), if any.</summary>
    public IReadOnlyList<string>? ClassNames { get; init; }

    /// <summary>The training image size recorded by this library, if any.</summary>
    public int? ImageSize { get; init; }

    /// <summary>
    /// Whether the checkpoint's classifier had another class count and was left out (the model keeps its fresh
    /// classifier; a bottleneck head's embedding, which does not depend on the classes, is still loaded).
    /// </summary>
    public required bool HeadReplaced { get; init; }

    /// <summary>The checkpoint keys not loaded because the classifier was replaced: the head's keys whose shape follows the class count.</summary>
    public required IReadOnlyList<string> SkippedKeys { get; init; }
}

/// <summary>This library's checkpoint metadata, stored as JSON in the safetensors header.</summary>
internal sealed record TResNetCheckpointMetadata
{
    public const string PlainBatchNorm = "batch_norm";

    /// <summary>What <see cref="Format"/> says in this library's TResNet checkpoints.</summary>
    public const string FormatName = "miil.ml/tresnet";

    /// <summary>
    /// The version this code writes and the newest it reads: 2 adds the V2 flag and the head (version 1
    /// files are TResNet V1 with the pooling head, and read as such).
    /// </summary>
    public const int CurrentVersion = 2;

    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public string Format { get; init; } = FormatName;

    public int Version { get; init; } = CurrentVersion;

    public required string Architecture { get; init; }

    public required int[] Layers { get; init; }

    public required double WidthFactor { get; init; }

    [System.Text.Json.Serialization.JsonPropertyName("num_classes")]  // the format's key since version 1 (timm's word)
    public required int ClassCount { get; init; }

    public int? BottleneckFeatures { get; init; }

    public int InChannels { get; init; } = 3;

    /// <summary>Bottleneck blocks in every stage (TResNet-V2); absent in version 1.</summary>
    public bool V2 { get; init; }

    /// <summary>ML-Decoder's queries and embedding; null for the pooling head (and in version 1).</summary>
    public MLDecoderShape? MlDecoder { get; init; }

    public IReadOnlyList<string>? ClassNames { get; init; }

    public int? ImageSize { get; init; }

    /// <summary>How the norms compute: always plain batch norm for this library's files.</summary>
    public string Norm { get; init; } = PlainBatchNorm;

    public static TResNetCheckpointMetadata From(TResNet model, IReadOnlyList<string>? classNames, int? imageSize) => new()
    {
        Architecture = model.Architecture.Name,
        Layers = model.Architecture.Layers.ToArray(),
        WidthFactor = model.Architecture.WidthFactor,
        ClassCount = model.ClassCount,
        BottleneckFeatures = model.BottleneckFeatures,
        InChannels = model.InChannels,
        V2 = model.Architecture.IsV2,
        MlDecoder = model.Head.IsMLDecoder ? new MLDecoderShape(model.Head.Groups, model.Head.Embedding) : null,
        ClassNames = classNames,
        ImageSize = imageSize,
    };

    public TResNetArchitecture ToArchitecture() => TResNetArchitecture.Custom(Layers, WidthFactor, V2);

    /// <summary>The head the file's network carries.</summary>
    public ClassifierHead ToHead() => MlDecoder is { } d ? ClassifierHead.MLDecoder(d.Queries, d.Embedding) : ClassifierHead.Pooling;

    /// <summary>ML-Decoder's shape in the metadata.</summary>
    /// <param name="Queries">Queries (groups after the class count capped them).</param>
    /// <param name="Embedding">The decoder's width.</param>
    internal sealed record MLDecoderShape(int Queries, int Embedding);
}
