using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Miil.ML.Images;
using Miil.ML.Onnx.Graphs;
using Google.Protobuf;
using Onnx;

namespace Miil.ML.Onnx;

/// <summary>
/// The contract between an exporter that writes a multi-label image model to ONNX and the scorer that
/// runs it: input and output names, opset and IR version, the <c>miil.*</c> metadata keys, and the
/// preprocessing record. Every key is spelled here and nowhere else; <see cref="Complete"/> writes the
/// contract's part of a graph and <see cref="MultiLabelOnnxModel.Read(byte[], string)"/> reads it back.
/// </summary>
/// <remarks>
/// <para>Graph: input <see cref="InputName"/> (N x 3 x S x S float, planar, as the preprocessing record
/// says), outputs <see cref="ScoreName"/> (N x C sigmoid probabilities) and <see cref="PredictedLabelsName"/>
/// (N x C Boolean, score &gt; the class's threshold, thresholds as an initializer), optionally
/// <see cref="LogitsName"/>. Batch dimension symbolic, spatial size fixed.</para>
/// <para>Metadata (<c>metadata_props</c>): class names and thresholds as JSON arrays, the preprocessing
/// record as JSON, the image size, the network's description, and the contract's version: a scorer
/// refuses a model of a newer contract rather than misread it.</para>
/// </remarks>
internal static class OnnxModelContract
{
    /// <summary>Version of this contract written into models; models without one (the first exports) are version 0.</summary>
    public const int Version = 1;

    /// <summary>
    /// ONNX opset of exported graphs: 17, the first with LayerNormalization (ML-Decoder); every other
    /// operator used has had its current semantics since 13 (Pad, ReduceMean and Split change only at 18),
    /// and ONNX Runtime, TensorRT, OpenVINO and DirectML run it.
    /// </summary>
    public const int Opset = 17;

    /// <summary>IR version that goes with <see cref="Opset"/> (ONNX 1.12).</summary>
    public const int IrVersion = 8;

    /// <summary>Name of the graph input.</summary>
    public const string InputName = "input";

    /// <summary>Name of the probability output, N x C float.</summary>
    public const string ScoreName = "Score";

    /// <summary>Name of the decision output, N x C Boolean.</summary>
    public const string PredictedLabelsName = "PredictedLabels";

    /// <summary>Name of the optional logits output.</summary>
    public const string LogitsName = "logits";

    /// <summary>The metadata keys of the contract.</summary>
    internal static class MetadataKeys
    {
        /// <summary>Contract version (integer as text).</summary>
        public const string ContractVersion = "miil.contract_version";

        /// <summary>JSON array of class names, in output order.</summary>
        public const string ClassNames = "miil.class_names";

        /// <summary>JSON array of per-class thresholds.</summary>
        public const string Thresholds = "miil.thresholds";

        /// <summary>Square input side in pixels (also inside the preprocessing record; kept for tools that read only it).</summary>
        public const string ImageSize = "miil.image_size";

        /// <summary>JSON object describing the network (family, variant, sizes).</summary>
        public const string Architecture = "miil.architecture";

        /// <summary>JSON preprocessing record (see <see cref="ImagePreprocessing"/>).</summary>
        public const string Preprocessing = "miil.preprocessing";
    }

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>
    /// Completes a graph whose nodes compute <paramref name="logits"/> from <see cref="InputName"/>:
    /// adds the sigmoid, the thresholds, the graph's inputs and outputs and the metadata, and returns the model.
    /// </summary>
    /// <param name="graph">The graph built so far (its last node writes <paramref name="logits"/>).</param>
    /// <param name="logits">The value holding N x C logits.</param>
    /// <param name="model">Class names, thresholds, preprocessing and architecture to record.</param>
    /// <param name="includeLogits">Whether the logits are also a graph output.</param>
    /// <param name="producer">The exporting assembly, for <c>producer_name</c>.</param>
    /// <param name="description">Free text for the model's <c>doc_string</c>.</param>
    /// <exception cref="ArgumentException">The description is inconsistent (counts, preprocessing).</exception>
    public static ModelProto Complete(OnnxGraphBuilder graph, string logits, MultiLabelOnnxModel model, bool includeLogits, string producer, string description)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentException.ThrowIfNullOrEmpty(logits);
        ArgumentNullException.ThrowIfNull(model);
        model.Validate("the model description");
        int classes = model.ClassNames.Count;
        NodeProto last = graph.Graph.Node.LastOrDefault(n => n.Output.Contains(logits))
            ?? throw new ArgumentException($"No node of the graph writes '{logits}'.", nameof(logits));
        last.Output[last.Output.IndexOf(logits)] = LogitsName;
        string score = graph.NodeWithOutput("Sigmoid", ScoreName, [LogitsName]);
        string limits = graph.Initializer("thresholds", model.Thresholds.ToArray(), classes);
        string predicted = graph.NodeWithOutput("Greater", PredictedLabelsName, [score, limits]);
        if (score != ScoreName || predicted != PredictedLabelsName)
        {
            throw new InvalidOperationException("Output names collided with names already in the graph.");
        }
        int size = model.Preprocessing.ImageSize;
        graph.Graph.Input.Add(OnnxGraphBuilder.Value(InputName, TensorProto.Types.DataType.Float, "batch", 3, size, size));
        graph.Graph.Output.Add(OnnxGraphBuilder.Value(ScoreName, TensorProto.Types.DataType.Float, "batch", classes));
        graph.Graph.Output.Add(OnnxGraphBuilder.Value(PredictedLabelsName, TensorProto.Types.DataType.Bool, "batch", classes));
        if (includeLogits)
        {
            graph.Graph.Output.Add(OnnxGraphBuilder.Value(LogitsName, TensorProto.Types.DataType.Float, "batch", classes));
        }
        var onnx = new ModelProto { IrVersion = IrVersion, ProducerName = producer, DocString = description, Graph = graph.Graph };
        onnx.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        Metadata(onnx, MetadataKeys.ContractVersion, Version.ToString(CultureInfo.InvariantCulture));
        Metadata(onnx, MetadataKeys.ClassNames, JsonSerializer.Serialize(model.ClassNames));
        Metadata(onnx, MetadataKeys.Thresholds, ThresholdsJson(model.Thresholds));
        Metadata(onnx, MetadataKeys.ImageSize, size.ToString(CultureInfo.InvariantCulture));
        Metadata(onnx, MetadataKeys.Preprocessing, PreprocessingJson(model.Preprocessing));
        if (model.Architecture is string architecture)
        {
            Metadata(onnx, MetadataKeys.Architecture, architecture);
        }
        return onnx;
    }

    /// <summary>
    /// The same model with other per-class thresholds: the initializer that <c>PredictedLabels</c> compares the
    /// scores with, and the metadata that records them (what <c>miil tune-thresholds</c> writes).
    /// </summary>
    /// <param name="onnx">A model of this contract.</param>
    /// <param name="thresholds">One threshold per class, in score order.</param>
    /// <exception cref="InvalidOperationException">The model is not of this contract (no thresholds feeding PredictedLabels).</exception>
    /// <exception cref="ArgumentException">Not one threshold per class, or one outside (0, 1).</exception>
    internal static byte[] WithThresholds(byte[] onnx, IReadOnlyList<float> thresholds)
    {
        ModelProto model = ModelProto.Parser.ParseFrom(onnx);
        NodeProto greater = model.Graph.Node.FirstOrDefault(n => n.OpType == "Greater" && n.Output.Contains(PredictedLabelsName))
            ?? throw new InvalidOperationException($"The model has no '{PredictedLabelsName}' comparison: it is not a Miil.ML model of contract {Version}.");
        TensorProto limits = model.Graph.Initializer.FirstOrDefault(t => t.Name == greater.Input[1])
            ?? throw new InvalidOperationException($"The thresholds of '{PredictedLabelsName}' are not an initializer of the graph.");
        long classes = limits.Dims.Aggregate(1L, (a, d) => a * d);
        if (thresholds.Count != classes)
        {
            throw new ArgumentException($"{thresholds.Count} thresholds for a model of {classes} classes.", nameof(thresholds));
        }
        if (thresholds.Any(t => !(t > 0 && t < 1)))
        {
            throw new ArgumentException($"Thresholds must lie between 0 and 1; got {thresholds.First(t => !(t > 0 && t < 1))}.", nameof(thresholds));
        }
        float[] values = thresholds.ToArray();
        limits.FloatData.Clear();
        limits.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
        StringStringEntryProto? entry = model.MetadataProps.FirstOrDefault(p => p.Key == MetadataKeys.Thresholds);
        if (entry is null)
        {
            Metadata(model, MetadataKeys.Thresholds, ThresholdsJson(values));
        }
        else
        {
            entry.Value = ThresholdsJson(values);
        }
        return model.ToByteArray();
    }

    /// <summary>The JSON form of per-class thresholds in the metadata.</summary>
    internal static string ThresholdsJson(IReadOnlyList<float> thresholds) => JsonSerializer.Serialize(thresholds);

    /// <summary>The JSON form of a preprocessing record in the metadata.</summary>
    internal static string PreprocessingJson(ImagePreprocessing p) => JsonSerializer.Serialize(new PreprocessingRecord
    {
        ImageSize = p.ImageSize,
        Resize = p.ResizeMode.ToString().ToLowerInvariant(),
        ChannelOrder = p.ChannelOrder.ToString().ToLowerInvariant(),
        Scale = p.Scale,
        Mean = [.. p.Mean],
        Std = [.. p.Std],
        Layout = "NCHW",
    }, Json);

    /// <summary>Reads the contract's metadata of a loaded model.</summary>
    /// <exception cref="InvalidOperationException">Metadata or graph names missing, unreadable, inconsistent, or of a newer contract version.</exception>
    internal static MultiLabelOnnxModel Read(IReadOnlyDictionary<string, string> metadata, IEnumerable<string> inputs, IEnumerable<string> outputs, string source)
    {
        string Need(string key) => metadata.TryGetValue(key, out string? v) ? v
            : throw new InvalidOperationException($"{source} has no '{key}' metadata: it was not exported by a Miil.ML exporter.");
        foreach (string output in new[] { ScoreName, PredictedLabelsName })
        {
            if (!outputs.Contains(output))
            {
                throw new InvalidOperationException($"{source} has no '{output}' output: it was not exported by a Miil.ML exporter.");
            }
        }
        if (!inputs.Contains(InputName))
        {
            throw new InvalidOperationException($"{source} has no '{InputName}' input.");
        }
        try
        {
            int version = metadata.TryGetValue(MetadataKeys.ContractVersion, out string? v) ? int.Parse(v, CultureInfo.InvariantCulture) : 0;
            if (version > Version)
            {
                throw new InvalidOperationException(
                    $"{source} follows version {version} of Miil.ML's ONNX contract; this Miil.ML reads versions up to {Version}. Update Miil.ML to score it.");
            }
            var names = JsonSerializer.Deserialize<string[]>(Need(MetadataKeys.ClassNames)) ?? [];
            var thresholds = JsonSerializer.Deserialize<float[]>(Need(MetadataKeys.Thresholds)) ?? [];
            int size = int.Parse(Need(MetadataKeys.ImageSize), CultureInfo.InvariantCulture);
            // Version 0 wrote the preprocessing as a sentence; it was always 1/255 without mean/std.
            ImagePreprocessing preprocessing = version == 0 ? ImagePreprocessing.Unnormalized(size) : ParsePreprocessing(Need(MetadataKeys.Preprocessing));
            var model = new MultiLabelOnnxModel
            {
                ClassNames = names,
                Thresholds = thresholds,
                Preprocessing = preprocessing,
                Architecture = metadata.TryGetValue(MetadataKeys.Architecture, out string? a) ? a : null,
            };
            model.Validate(source);
            if (preprocessing.ImageSize != size)
            {
                throw new InvalidOperationException($"{source}: its preprocessing record says {preprocessing.ImageSize} px but '{MetadataKeys.ImageSize}' says {size}.");
            }
            return model;
        }
        catch (Exception e) when (e is JsonException or FormatException or OverflowException or ArgumentException)
        {
            throw new InvalidOperationException($"{source} has unreadable Miil.ML metadata: {e.Message}", e);
        }
    }

    private static ImagePreprocessing ParsePreprocessing(string json)
    {
        PreprocessingRecord r = JsonSerializer.Deserialize<PreprocessingRecord>(json, Json) ?? throw new JsonException("empty preprocessing record");
        if (r.Layout != "NCHW")
        {
            throw new FormatException($"layout '{r.Layout}' is not NCHW");
        }
        return new ImagePreprocessing
        {
            ImageSize = r.ImageSize,
            ResizeMode = Enum.TryParse(r.Resize, ignoreCase: true, out ImageResizeMode mode) ? mode : throw new FormatException($"resize '{r.Resize}' is not known"),
            ChannelOrder = Enum.TryParse(r.ChannelOrder, ignoreCase: true, out ColorChannelOrder order) ? order : throw new FormatException($"channel order '{r.ChannelOrder}' is not known"),
            Scale = r.Scale,
            Mean = r.Mean ?? throw new FormatException("no mean"),
            Std = r.Std ?? throw new FormatException("no std"),
        };
    }

    private static void Metadata(ModelProto model, string key, string value)
        => model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });

    /// <summary>The preprocessing record as it is written (snake_case JSON).</summary>
    private sealed record PreprocessingRecord
    {
        public int ImageSize { get; init; }

        public string Resize { get; init; } = "";

        public string ChannelOrder { get; init; } = "";

        public float Scale { get; init; }

        public float[]? Mean { get; init; }

        public float[]? Std { get; init; }

        public string Layout { get; init; } = "";
    }
}
