namespace Miil.ML.Evaluation;

/// <summary>
/// Evaluation of multi-label scores: mAP as the ASL and TResNet papers report it, its tie-aware and
/// positive-weighted variants, per-class results and decision metrics. Every value is a fraction in
/// [0, 1] (ML.NET's convention); reports and console output show percent.
/// </summary>
public sealed record MultiLabelMetrics
{
    /// <summary>mAP by the reference definition: the mean over all classes of <see cref="ClassMetrics.AveragePrecision"/> (classes without positives count as 0).</summary>
    public required double MeanAveragePrecision { get; init; }

    /// <summary>The mean over all classes of <see cref="ClassMetrics.AveragePrecisionTieAware"/> (scikit-learn's macro average precision).</summary>
    public required double MeanAveragePrecisionTieAware { get; init; }

    /// <summary>Reference AP averaged with each class weighted by its number of positives.</summary>
    public required double PositiveWeightedMeanAveragePrecision { get; init; }

    /// <summary>Per-class results, in label order.</summary>
    public required IReadOnlyList<ClassMetrics> PerClass { get; init; }

    /// <summary>Decisions by threshold (score &gt; threshold), or by the predicted-labels column when one was given.</summary>
    public required DecisionMetrics AtThreshold { get; init; }

    /// <summary>
    /// Decision metrics at thresholds 0.05, 0.10, ..., 0.95 (meaningful for probability scores): the
    /// threshold sweep of reports.
    /// </summary>
    public IReadOnlyList<DecisionMetrics> ThresholdSweep { get; init; } = [];

    /// <summary>Decisions by each sample's k highest scores.</summary>
    public required DecisionMetrics TopK { get; init; }

    /// <summary>The threshold of <see cref="AtThreshold"/> (NaN when decisions came from a predicted-labels column).</summary>
    public required float Threshold { get; init; }

    /// <summary>Samples evaluated.</summary>
    public required int SampleCount { get; init; }

    /// <summary>Classes evaluated.</summary>
    public int ClassCount => PerClass.Count;

    /// <summary>Label cardinality: mean number of positive labels per sample.</summary>
    public required double LabelCardinality { get; init; }

    /// <summary>Label density: <see cref="LabelCardinality"/> divided by the number of classes.</summary>
    public required double LabelDensity { get; init; }

    /// <summary>Classes with no positive sample: their AP is reported as 0 and pulls the means down.</summary>
    public IReadOnlyList<string> ClassesWithoutPositives => PerClass.Where(c => !c.HasPositives).Select(c => c.Name).ToList();
}
