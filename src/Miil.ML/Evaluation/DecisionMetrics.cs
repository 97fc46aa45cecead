namespace Miil.ML.Evaluation;

/// <summary>
/// Metrics of hard decisions (a threshold, or each sample's top k), named as the multi-label
/// literature names them: C* average over classes, O* pool all decisions. Fractions in [0, 1].
/// </summary>
/// <remarks>
/// The ASL authors call a plain mean over classes "micro" and a weighted one "macro", the reverse of
/// common usage; this API avoids both words.
/// </remarks>
public sealed record DecisionMetrics
{
    /// <summary>How the decisions were made, e.g. "score &gt; 0.5" or "top-3".</summary>
    public required string Rule { get; init; }

    /// <summary>The threshold of a "score &gt; t" rule; null for top-k or given decisions.</summary>
    public float? Threshold { get; init; }

    /// <summary>CP: mean over classes of per-class precision (0 for a class with no true positive).</summary>
    public required double CP { get; init; }

    /// <summary>CR: mean over classes of per-class recall.</summary>
    public required double CR { get; init; }

    /// <summary>CF1 as the literature defines it: the harmonic mean of <see cref="CP"/> and <see cref="CR"/>.</summary>
    public required double CF1 { get; init; }

    /// <summary>The ASL validation script's "CF1": the mean over classes of per-class F1.</summary>
    public required double MeanClassF1 { get; init; }

    /// <summary>OP: all true positives over all predicted positives.</summary>
    public required double OP { get; init; }

    /// <summary>OR: all true positives over all labelled positives.</summary>
    public required double OR { get; init; }

    /// <summary>OF1: the harmonic mean of <see cref="OP"/> and <see cref="OR"/>.</summary>
    public required double OF1 { get; init; }

    /// <summary>True positives over all classes.</summary>
    public required long TruePositives { get; init; }

    /// <summary>False positives over all classes.</summary>
    public required long FalsePositives { get; init; }

    /// <summary>False negatives over all classes.</summary>
    public required long FalseNegatives { get; init; }
}
