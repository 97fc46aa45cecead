namespace Miil.ML.Evaluation;

/// <summary>One class's evaluation. Fractions in [0, 1].</summary>
public sealed record ClassMetrics
{
    /// <summary>Class name (slot name of the label column, or "class_k").</summary>
    public required string Name { get; init; }

    /// <summary>Position of the class in the label vector.</summary>
    public required int Index { get; init; }

    /// <summary>
    /// Average precision by the reference definition (the ASL repository's): the mean of precision at
    /// the rank of each positive, samples ranked by descending score with ties in sample order, divided
    /// by (positives + 1e-8). 0 for a class without positives.
    /// </summary>
    public required double AveragePrecision { get; init; }

    /// <summary>
    /// Tie-aware average precision (scikit-learn's <c>average_precision_score</c>): tied scores form one
    /// threshold; no epsilon. 0 for a class without positives.
    /// </summary>
    public required double AveragePrecisionTieAware { get; init; }

    /// <summary>Samples labelled positive (1).</summary>
    public required int Positives { get; init; }

    /// <summary>Samples labelled negative (0).</summary>
    public required int Negatives { get; init; }

    /// <summary>Samples labelled -1 (ignored, left out of every count of this class).</summary>
    public required int Ignored { get; init; }

    /// <summary>Precision at the evaluation threshold: TP / (TP + FP), 0 when TP is 0.</summary>
    public required double Precision { get; init; }

    /// <summary>Recall at the evaluation threshold: TP / (TP + FN), 0 when TP is 0.</summary>
    public required double Recall { get; init; }

    /// <summary>F1 at the evaluation threshold: 2PR / (P + R), 0 when both are 0.</summary>
    public required double F1 { get; init; }

    /// <summary>
    /// The precision-recall curve, one point per distinct score from the highest down (thinned to
    /// about 200 points); empty for a class without positives.
    /// </summary>
    public IReadOnlyList<PrecisionRecallPoint> PrecisionRecallCurve { get; init; } = [];

    /// <summary>Whether the class has at least one positive (AP is undefined without, and reported as 0).</summary>
    public bool HasPositives => Positives > 0;

    /// <summary>Value equality, the curve compared point by point.</summary>
    public bool Equals(ClassMetrics? other)
        => other is not null && Name == other.Name && Index == other.Index
           && AveragePrecision.Equals(other.AveragePrecision) && AveragePrecisionTieAware.Equals(other.AveragePrecisionTieAware)
           && Positives == other.Positives && Negatives == other.Negatives && Ignored == other.Ignored
           && Precision.Equals(other.Precision) && Recall.Equals(other.Recall) && F1.Equals(other.F1)
           && PrecisionRecallCurve.SequenceEqual(other.PrecisionRecallCurve);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Name, Index, AveragePrecision, Positives, PrecisionRecallCurve.Count);
}

/// <summary>A point of a precision-recall curve: deciding positive every score at or above <see cref="Threshold"/>.</summary>
/// <param name="Threshold">The lowest score counted positive.</param>
/// <param name="Recall">Recall at that cut.</param>
/// <param name="Precision">Precision at that cut.</param>
public readonly record struct PrecisionRecallPoint(float Threshold, double Recall, double Precision);
