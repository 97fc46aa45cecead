namespace Miil.ML.TorchSharp.Export;

/// <summary>Options of <see cref="TResNetOnnxExporter"/>.</summary>
public sealed record TResNetOnnxExportOptions
{
    /// <summary>Square input side the graph is built for (a multiple of 4). Default 224.</summary>
    public int ImageSize { get; init; } = 224;

    /// <summary>Class names in output order; default "class_0", "class_1", ...</summary>
    public IReadOnlyList<string>? ClassNames { get; init; }

    /// <summary>Per-class thresholds of <c>PredictedLabels</c>; null to use <see cref="Threshold"/> for every class.</summary>
    public IReadOnlyList<float>? Thresholds { get; init; }

    /// <summary>The threshold of every class when <see cref="Thresholds"/> is null. Default 0.5.</summary>
    public float Threshold { get; init; } = 0.5f;

    /// <summary>Whether the graph also outputs the logits. Default false.</summary>
    public bool IncludeLogits { get; init; }
}
