using System.Globalization;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;

namespace Miil.ML.Onnx.Scoring;

/// <summary>
/// What an exported TResNet ONNX model says about itself (Miil.ML.TorchSharp's exporter writes it
/// into <c>metadata_props</c>): class names, per-class thresholds, the square input size, and the
/// names of its input and outputs.
/// </summary>
public sealed record TResNetOnnxModel
{
    /// <summary>Input name of exported models.</summary>
    public const string InputName = "input";

    /// <summary>Probability output of exported models.</summary>
    public const string ScoreName = "Score";

    /// <summary>Decision output of exported models.</summary>
    public const string PredictedLabelsName = "PredictedLabels";

    /// <summary>Class names, in output order.</summary>
    public required IReadOnlyList<string> ClassNames { get; init; }

    /// <summary>Per-class thresholds of <c>PredictedLabels</c>.</summary>
    public required IReadOnlyList<float> Thresholds { get; init; }

    /// <summary>Square input side the graph was exported for.</summary>
    public required int ImageSize { get; init; }

    /// <summary>Reads the description of <paramref name="model"/> (ONNX bytes).</summary>
    /// <exception cref="InvalidOperationException">The bytes are not an exported TResNet model (metadata or outputs missing).</exception>
    public static TResNetOnnxModel Read(byte[] model, string source)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var options = new SessionOptions();
        InferenceSession session;
        try
        {
            session = new InferenceSession(model, options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidOperationException($"{source} is not a valid ONNX model: {e.Message}", e);
        }
        using (session)
        {
            return Read(session, source);
        }
    }

    internal static TResNetOnnxModel Read(InferenceSession session, string source)
    {
        Dictionary<string, string> meta = session.ModelMetadata.CustomMetadataMap;
        string Need(string key) => meta.TryGetValue(key, out string? v) ? v
            : throw new InvalidOperationException($"{source} has no '{key}' metadata: it was not exported by Miil.ML's TResNet exporter.");
        foreach (string output in new[] { ScoreName, PredictedLabelsName })
        {
            if (!session.OutputMetadata.ContainsKey(output))
            {
                throw new InvalidOperationException($"{source} has no '{output}' output: it was not exported by Miil.ML's TResNet exporter.");
            }
        }
        if (!session.InputMetadata.ContainsKey(InputName))
        {
            throw new InvalidOperationException($"{source} has no '{InputName}' input.");
        }
        try
        {
            var names = JsonSerializer.Deserialize<string[]>(Need("miil.class_names")) ?? [];
            var thresholds = JsonSerializer.Deserialize<float[]>(Need("miil.thresholds")) ?? [];
            int size = int.Parse(Need("miil.image_size"), CultureInfo.InvariantCulture);
            if (names.Length == 0 || names.Length != thresholds.Length || size < 4)
            {
                throw new InvalidOperationException($"{source} has inconsistent metadata: {names.Length} class names, {thresholds.Length} thresholds, image size {size}.");
            }
            return new TResNetOnnxModel { ClassNames = names, Thresholds = thresholds, ImageSize = size };
        }
        catch (Exception e) when (e is JsonException or FormatException or OverflowException)
        {
            throw new InvalidOperationException($"{source} has unreadable Miil.ML metadata: {e.Message}", e);
        }
    }
}
