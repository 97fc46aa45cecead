using Microsoft.ML.OnnxRuntime;
using Miil.ML.Images;

namespace Miil.ML.Onnx;

/// <summary>
/// What a multi-label ONNX model says about itself under <see cref="OnnxModelContract"/>: class names,
/// per-class thresholds, the preprocessing its input needs, and the network it came from.
/// </summary>
public sealed record MultiLabelOnnxModel
{
    /// <summary>Class names, in output order.</summary>
    public required IReadOnlyList<string> ClassNames { get; init; }

    /// <summary>Per-class thresholds of <c>PredictedLabels</c>.</summary>
    public required IReadOnlyList<float> Thresholds { get; init; }

    /// <summary>How images become the model's input.</summary>
    internal ImagePreprocessing Preprocessing { get; init; } = null!;

    /// <summary>The network's description as JSON (family, variant, sizes), or null.</summary>
    public string? Architecture { get; init; }

    /// <summary>Square input side the graph was exported for.</summary>
    public int ImageSize => Preprocessing.ImageSize;

    /// <summary>Reads the description of <paramref name="model"/> (ONNX bytes).</summary>
    /// <param name="model">The serialized ONNX model.</param>
    /// <param name="source">How to name the model in messages, e.g. its path.</param>
    /// <exception cref="InvalidOperationException">The bytes are not ONNX, or not a model of the contract (metadata or names missing, a newer contract).</exception>
    public static MultiLabelOnnxModel Read(byte[] model, string source)
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

    internal static MultiLabelOnnxModel Read(InferenceSession session, string source)
        => OnnxModelContract.Read(session.ModelMetadata.CustomMetadataMap, session.InputMetadata.Keys, session.OutputMetadata.Keys, source);

    /// <summary>Checks that counts and the preprocessing record agree.</summary>
    /// <exception cref="ArgumentException">No classes, thresholds of another count or NaN, or an invalid preprocessing record.</exception>
    internal void Validate(string source)
    {
        if (ClassNames is null || Thresholds is null || ClassNames.Count == 0 || ClassNames.Count != Thresholds.Count || Thresholds.Any(float.IsNaN))
        {
            throw new ArgumentException($"{source}: {ClassNames?.Count ?? 0} class names and {Thresholds?.Count ?? 0} thresholds; there must be one threshold (not NaN) per class, and at least one class.");
        }
        ArgumentNullException.ThrowIfNull(Preprocessing);
        Preprocessing.Validate(source);
    }
}
