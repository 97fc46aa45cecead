using System.Globalization;

namespace Miil.ML.Evaluation;

/// <summary>
/// The multi-label evaluator over plain arrays: scores and labels as row-major N x C matrices.
/// <c>mlContext.MultiLabel().Evaluate(...)</c> reads an IDataView into this form; the trainer calls it
/// directly for per-epoch validation.
/// </summary>
/// <remarks>
/// Labels: 1 positive, 0 negative, -1 ignored (left out of that class's ranking and counts). Classes
/// are evaluated in parallel; the result does not depend on the number of threads.
/// </remarks>
public static class MultiLabelEvaluator
{
    /// <summary>The reference's epsilon in the AP denominator.</summary>
    internal const double ReferenceEpsilon = 1e-8;

    /// <summary>Evaluates scores against labels.</summary>
    /// <param name="scores">Row-major N x C scores (probabilities or logits; only their order and the threshold matter).</param>
    /// <param name="labels">Row-major N x C labels: 1, 0 or -1.</param>
    /// <param name="classCount">C.</param>
    /// <param name="classNames">C names; default "class_0", "class_1", ...</param>
    /// <param name="threshold">Decision threshold: predicted positive when score &gt; threshold.</param>
    /// <param name="topK">k of the top-k decision metrics (the literature uses 3).</param>
    /// <param name="predictedLabels">Optional row-major N x C decisions to use instead of the threshold.</param>
    /// <exception cref="ArgumentException">Lengths do not fit, a score is NaN, or a label is not 1, 0 or -1; the message names the row and class.</exception>
    public static MultiLabelMetrics Evaluate(ReadOnlySpan<float> scores, ReadOnlySpan<float> labels, int classCount,
        IReadOnlyList<string>? classNames = null, float threshold = 0.5f, int topK = 3, ReadOnlySpan<bool> predictedLabels = default)
        => Evaluate(scores, labels, classCount, classNames, threshold, topK, predictedLabels, "Score", "Label");

    /// <summary>The evaluation, with the names of the scores' and labels' sources for error messages.</summary>
    internal static MultiLabelMetrics Evaluate(ReadOnlySpan<float> scores, ReadOnlySpan<float> labels, int classCount,
        IReadOnlyList<string>? classNames, float threshold, int topK, ReadOnlySpan<bool> predictedLabels, string scoreSource, string labelSource)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(topK, 1);
        if (scores.Length != labels.Length)
        {
            throw new ArgumentException($"Scores hold {scores.Length} values but labels {labels.Length}; both must be N x {classCount}.", nameof(labels));
        }
        if (scores.Length % classCount != 0)
        {
            throw new ArgumentException($"{scores.Length} scores are not a whole number of rows of {classCount} classes.", nameof(scores));
        }
        if (!predictedLabels.IsEmpty && predictedLabels.Length != scores.Length)
        {
            throw new ArgumentException($"Predicted labels hold {predictedLabels.Length} values but scores {scores.Length}.", nameof(predictedLabels));
        }
        if (float.IsNaN(threshold))
        {
            throw new ArgumentException("The threshold is NaN.", nameof(threshold));
        }
        int n = scores.Length / classCount;
        if (n == 0)
        {
            throw new ArgumentException("There is nothing to evaluate: no rows.", nameof(scores));
        }
        if (classNames is not null && classNames.Count != classCount)
        {
            throw new ArgumentException($"{classNames.Count} class names for {classCount} classes.", nameof(classNames));
        }
        Validate(scores, labels, classCount, scoreSource, labelSource);

        float[] scoreArray = scores.ToArray();
        float[] labelArray = labels.ToArray();
        bool[]? decisions = predictedLabels.IsEmpty ? null : predictedLabels.ToArray();
        var perClass = new ClassCounts[classCount];
        Parallel.For(0, classCount, () => new ClassWorkspace(n), (c, _, workspace) =>
        {
            perClass[c] = EvaluateClass(scoreArray, labelArray, decisions, n, classCount, c, threshold, workspace);
            return workspace;
        }, _ => { });
        Counts[] topKCounts = TopKCounts(scoreArray, labelArray, n, classCount, Math.Min(topK, classCount));

        string[] names = classNames?.ToArray() ?? Enumerable.Range(0, classCount).Select(i => $"class_{i}").ToArray();
        var classes = perClass.Select((r, c) => new ClassMetrics
        {
            Name = names[c],
            Index = c,
            AveragePrecision = r.AveragePrecision,
            AveragePrecisionTieAware = r.AveragePrecisionTieAware,
            Positives = r.Positives,
            Negatives = r.Negatives,
            Ignored = r.Ignored,
            Precision = r.Decisions.Precision,
            Recall = r.Decisions.Recall,
            F1 = r.Decisions.F1,
        }).ToList();

        long positives = perClass.Sum(r => (long)r.Positives);
        return new MultiLabelMetrics
        {
            MeanAveragePrecision = classes.Average(c => c.AveragePrecision),
            MeanAveragePrecisionTieAware = classes.Average(c => c.AveragePrecisionTieAware),
            PositiveWeightedMeanAveragePrecision = positives == 0 ? 0 : classes.Sum(c => c.AveragePrecision * c.Positives) / positives,
            PerClass = classes,
            AtThreshold = Decide(decisions is null ? string.Create(CultureInfo.InvariantCulture, $"score > {threshold}") : "predicted labels",
                                 perClass.Select(r => r.Decisions).ToArray()),
            TopK = Decide($"top-{Math.Min(topK, classCount)}", topKCounts),
            Threshold = decisions is null ? threshold : float.NaN,
            SampleCount = n,
            LabelCardinality = (double)positives / n,
            LabelDensity = (double)positives / n / classCount,
        };
    }

    private static void Validate(ReadOnlySpan<float> scores, ReadOnlySpan<float> labels, int classCount, string scoreSource, string labelSource)
    {
        for (int i = 0; i < scores.Length; i++)
        {
            if (float.IsNaN(scores[i]))
            {
                throw new ArgumentException($"{scoreSource}: score of row {i / classCount}, class {i % classCount} is NaN.", nameof(scores));
            }
            float y = labels[i];
            if (y != 1f && y != 0f && y != -1f)
            {
                throw new ArgumentException(
                    $"{labelSource}: label of row {i / classCount}, class {i % classCount} is {y.ToString(CultureInfo.InvariantCulture)}; labels must be 1 (positive), 0 (negative) or -1 (ignored).",
                    nameof(labels));
            }
        }
    }

    private static ClassCounts EvaluateClass(float[] scores, float[] labels, bool[]? decisions, int n, int classCount, int c, float threshold, ClassWorkspace w)
    {
        var counts = new Counts();
        int positives = 0, negatives = 0, ignored = 0;
        for (int i = 0; i < n; i++)
        {
            int at = i * classCount + c;
            w.Scores[i] = scores[at];
            w.Labels[i] = labels[at];
            float y = labels[at];
            if (y == -1f)
            {
                ignored++;
                continue;
            }
            bool predicted = decisions is null ? scores[at] > threshold : decisions[at];
            if (y == 1f)
            {
                positives++;
                counts.Add(predicted, true);
            }
            else
            {
                negatives++;
                counts.Add(predicted, false);
            }
        }
        RankOrder.Descending(w.Scores, w.Order, w.Keys, w.KeyScratch, w.OrderScratch);

        // The ranking without ignored samples.
        int ranked = 0;
        for (int k = 0; k < n; k++)
        {
            int i = w.Order[k];
            if (w.Labels[i] != -1f)
            {
                w.OrderScratch[ranked++] = i;
            }
        }

        // Reference: precision at the rank of each positive, ties in sample order.
        // Tie-aware: one threshold per distinct score, precision taken at the end of each tie group.
        double sum = 0, tieAware = 0;
        int seen = 0, groupPositives = 0;
        for (int rank = 1; rank <= ranked; rank++)
        {
            int i = w.OrderScratch[rank - 1];
            if (w.Labels[i] == 1f)
            {
                seen++;
                sum += (double)seen / rank;
                groupPositives++;
            }
            bool groupEnds = rank == ranked || w.Scores[w.OrderScratch[rank]] != w.Scores[i];
            if (groupEnds && groupPositives > 0)
            {
                tieAware += (double)groupPositives * seen / rank;
                groupPositives = 0;
            }
        }
        return new ClassCounts(
            positives == 0 ? 0 : sum / (positives + ReferenceEpsilon),
            positives == 0 ? 0 : tieAware / positives,
            positives, negatives, ignored, counts);
    }

    /// <summary>Per class TP/FP/FN when each sample predicts its k highest-scoring classes (ties: lower class index first).</summary>
    private static Counts[] TopKCounts(float[] scores, float[] labels, int n, int classCount, int k)
    {
        var counts = new Counts[classCount];
        object gate = new();
        Parallel.For(0, n, () => (new Counts[classCount], new int[k]), (i, _, local) =>
        {
            (Counts[] mine, int[] top) = local;
            int row = i * classCount;
            int filled = 0;
            for (int c = 0; c < classCount; c++)
            {
                float s = scores[row + c];
                // Insert into the descending top list; strict '>' keeps the lower index ahead on ties.
                int at = filled;
                while (at > 0 && s > scores[row + top[at - 1]])
                {
                    at--;
                }
                if (at >= k)
                {
                    continue;
                }
                for (int m = Math.Min(filled, k - 1); m > at; m--)
                {
                    top[m] = top[m - 1];
                }
                top[at] = c;
                filled = Math.Min(filled + 1, k);
            }
            for (int c = 0; c < classCount; c++)
            {
                float y = labels[row + c];
                if (y == -1f)
                {
                    continue;
                }
                bool predicted = Array.IndexOf(top, c, 0, filled) >= 0;
                mine[c].Add(predicted, y == 1f);
            }
            return local;
        }, local =>
        {
            lock (gate)
            {
                for (int c = 0; c < classCount; c++)
                {
                    counts[c] = counts[c].Plus(local.Item1[c]);
                }
            }
        });
        return counts;
    }

    private static DecisionMetrics Decide(string rule, Counts[] perClass)
    {
        double cp = perClass.Average(c => c.Precision), cr = perClass.Average(c => c.Recall);
        long tp = perClass.Sum(c => c.TruePositives), fp = perClass.Sum(c => c.FalsePositives), fn = perClass.Sum(c => c.FalseNegatives);
        double op = tp == 0 ? 0 : (double)tp / (tp + fp), or = tp == 0 ? 0 : (double)tp / (tp + fn);
        return new DecisionMetrics
        {
            Rule = rule,
            CP = cp,
            CR = cr,
            CF1 = Harmonic(cp, cr),
            MeanClassF1 = perClass.Average(c => c.F1),
            OP = op,
            OR = or,
            OF1 = Harmonic(op, or),
            TruePositives = tp,
            FalsePositives = fp,
            FalseNegatives = fn,
        };
    }

    private static double Harmonic(double a, double b) => a + b == 0 ? 0 : 2 * a * b / (a + b);

    private readonly record struct ClassCounts(double AveragePrecision, double AveragePrecisionTieAware, int Positives, int Negatives, int Ignored, Counts Decisions);

    /// <summary>Decision counts of one class.</summary>
    private struct Counts
    {
        public long TruePositives;
        public long FalsePositives;
        public long FalseNegatives;

        public readonly double Precision => TruePositives == 0 ? 0 : (double)TruePositives / (TruePositives + FalsePositives);

        public readonly double Recall => TruePositives == 0 ? 0 : (double)TruePositives / (TruePositives + FalseNegatives);

        public readonly double F1 => Harmonic(Precision, Recall);

        public void Add(bool predicted, bool positive)
        {
            if (predicted && positive)
            {
                TruePositives++;
            }
            else if (predicted)
            {
                FalsePositives++;
            }
            else if (positive)
            {
                FalseNegatives++;
            }
        }

        public readonly Counts Plus(Counts other) => new()
        {
            TruePositives = TruePositives + other.TruePositives,
            FalsePositives = FalsePositives + other.FalsePositives,
            FalseNegatives = FalseNegatives + other.FalseNegatives,
        };
    }

    /// <summary>Buffers of one worker, reused across the classes it evaluates.</summary>
    private sealed class ClassWorkspace(int n)
    {
        public readonly float[] Scores = new float[n];
        public readonly float[] Labels = new float[n];
        public readonly int[] Order = new int[n];
        public readonly uint[] Keys = new uint[n];
        public readonly uint[] KeyScratch = new uint[n];
        public readonly int[] OrderScratch = new int[n];
    }
}
