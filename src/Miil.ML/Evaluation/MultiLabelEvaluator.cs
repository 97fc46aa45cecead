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
    private const double ReferenceEpsilon = 1e-8;

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
        => Evaluate(scores, labels, classCount, classNames, threshold, topK, predictedLabels, DefaultColumnNames.Score, DefaultColumnNames.Label);

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
        if (scores.Length == 0)
        {
            throw new ArgumentException("There is nothing to evaluate: no rows.", nameof(scores));
        }
        return Evaluate(ScoreMatrix.From(scores, labels, predictedLabels, classCount, labelSource), classNames, threshold, topK, scoreSource);
    }

    /// <summary>The evaluation of a matrix already read (labels validated when it was filled).</summary>
    internal static MultiLabelMetrics Evaluate(ScoreMatrix matrix, IReadOnlyList<string>? classNames, float threshold, int topK, string scoreSource)
    {
        int classCount = matrix.Columns, n = matrix.Rows;
        ArgumentOutOfRangeException.ThrowIfLessThan(topK, 1);
        if (float.IsNaN(threshold))
        {
            throw new ArgumentException("The threshold is NaN.", nameof(threshold));
        }
        if (n == 0)
        {
            throw new ArgumentException("There is nothing to evaluate: no rows.", nameof(matrix));
        }
        if (classNames is not null && classNames.Count != classCount)
        {
            throw new ArgumentException($"{classNames.Count} class names for {classCount} classes.", nameof(classNames));
        }
        var perClass = new ClassCounts[classCount];
        // One worker per core, each with one workspace, takes every workers-th group of classes.
        int groups = (classCount + GroupSize - 1) / GroupSize;
        int workers = Math.Min(Environment.ProcessorCount, groups);
        Parallel.For(0, workers, worker =>
        {
            var workspace = new GroupWorkspace(n);
            for (int g = worker; g < groups; g += workers)
            {
                EvaluateGroup(matrix, g * GroupSize, Math.Min(GroupSize, classCount - g * GroupSize), threshold, workspace, perClass);
            }
        });
        ThrowFirstNaN(perClass, scoreSource);
        Counts[] topKCounts = TopKCounts(matrix, Math.Min(topK, classCount));

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
            PrecisionRecallCurve = r.Curve,
        }).ToList();
        var sweep = SweepThresholds.Select((t, i) => Decide(
            string.Create(CultureInfo.InvariantCulture, $"score > {t}"),
            perClass.Select(r => new Counts
            {
                TruePositives = r.SweepTruePositives[i],
                FalsePositives = r.SweepPredicted[i] - r.SweepTruePositives[i],
                FalseNegatives = r.Positives - r.SweepTruePositives[i],
            }).ToArray()) with { Threshold = t }).ToList();

        long positives = perClass.Sum(r => (long)r.Positives);
        return new MultiLabelMetrics
        {
            MeanAveragePrecision = classes.Average(c => c.AveragePrecision),
            MeanAveragePrecisionTieAware = classes.Average(c => c.AveragePrecisionTieAware),
            PositiveWeightedMeanAveragePrecision = positives == 0 ? 0 : classes.Sum(c => c.AveragePrecision * c.Positives) / positives,
            PerClass = classes,
            AtThreshold = Decide(!matrix.WithDecisions ? string.Create(CultureInfo.InvariantCulture, $"score > {threshold}") : "predicted labels",
                                 perClass.Select(r => r.Decisions).ToArray()) with { Threshold = matrix.WithDecisions ? null : threshold },
            TopK = Decide($"top-{Math.Min(topK, classCount)}", topKCounts),
            ThresholdSweep = sweep,
            Threshold = !matrix.WithDecisions ? threshold : float.NaN,
            SampleCount = n,
            LabelCardinality = (double)positives / n,
            LabelDensity = (double)positives / n / classCount,
        };
    }

    /// <summary>
    /// Classes are read in groups of 16 adjacent columns (one cache line of floats per row) so that a
    /// pass over the row-major matrix serves 16 classes: reading one column at a time would pull
    /// every cache line of the matrix once per class.
    /// </summary>
    private const int GroupSize = 16;

    /// <summary>Rows per tile: a tile of a group (256 rows x one cache line) stays in L1 while its 16 classes are read.</summary>
    private const int TileRows = 256;

    private static void EvaluateGroup(ScoreMatrix matrix, int first, int count, float threshold, GroupWorkspace w, ClassCounts[] results)
    {
        int n = matrix.Rows, columns = matrix.Columns;
        var ranked = new int[count];
        var nanRow = new int[count];
        Array.Fill(nanRow, -1);
        var counts = new Counts[count];
        var ignored = new int[count];
        foreach (ScoreMatrix.Block block in matrix.Blocks)
        {
            for (int tile = 0; tile < block.Rows; tile += TileRows)
            {
                int end = Math.Min(block.Rows, tile + TileRows);
                for (int j = 0; j < count; j++)
                {
                    // One class over the tile's rows: its state stays in registers.
                    ReadColumn(block, tile, end, first + j, columns, threshold, w.Keys.AsSpan(j * n), w.Positive.AsSpan(j * n),
                        ref ranked[j], ref counts[j], ref ignored[j], ref nanRow[j]);
                }
            }
        }
        for (int j = 0; j < count; j++)
        {
            results[first + j] = nanRow[j] >= 0
                ? ClassCounts.NaNAt(nanRow[j])
                : Rank(w.Keys.AsSpan(j * n, ranked[j]), w.Positive.AsSpan(j * n, ranked[j]), w, ignored[j], counts[j]);
        }
    }

    private static void ReadColumn(ScoreMatrix.Block block, int from, int to, int column, int columns, float threshold,
        Span<uint> keys, Span<byte> positives, ref int ranked, ref Counts counts, ref int ignored, ref int nanRow)
    {
        ReadOnlySpan<float> scores = block.Scores;
        ReadOnlySpan<sbyte> labels = block.Labels;
        bool[]? decisions = block.Decisions;
        int k = ranked;
        for (int r = from; r < to; r++)
        {
            int at = r * columns + column;
            float score = scores[at];
            sbyte y = labels[at];
            if (float.IsNaN(score))
            {
                if (nanRow < 0)
                {
                    nanRow = block.FirstRow + r;
                }
                continue;
            }
            if (y < 0)
            {
                ignored++;
                continue;
            }
            bool positive = y > 0;
            counts.Add(decisions is null ? score > threshold : decisions[at], positive);
            keys[k] = RankOrder.DescendingKey(score);
            positives[k] = (byte)y;
            k++;
        }
        ranked = k;
    }

    /// <summary>Thresholds of <see cref="MultiLabelMetrics.ThresholdSweep"/>: 0.05 to 0.95 by 0.05.</summary>
    private static readonly float[] SweepThresholds = Enumerable.Range(1, 19).Select(i => i / 20f).ToArray();

    /// <summary>Most points kept per precision-recall curve.</summary>
    private const int CurvePoints = 200;

    /// <summary>Sorts one class's samples by descending score; computes both APs, the PR curve and the sweep counts.</summary>
    private static ClassCounts Rank(Span<uint> keys, Span<byte> positive, GroupWorkspace w, int ignored, Counts counts)
    {
        int ranked = keys.Length;
        RankOrder.Sort(keys, positive, w.KeyScratch, w.PositiveScratch);
        int total = 0;
        for (int i = 0; i < ranked; i++)
        {
            total += positive[i];
        }

        // Reference: precision at the rank of each positive, ties in sample order.
        // Tie-aware: one threshold per distinct score, precision taken at the end of each tie group,
        // which are also the points of the precision-recall curve.
        double sum = 0, tieAware = 0;
        int seen = 0, groupPositives = 0;
        var curve = new List<PrecisionRecallPoint>();
        for (int rank = 1; rank <= ranked; rank++)
        {
            if (positive[rank - 1] != 0)
            {
                seen++;
                sum += (double)seen / rank;
                groupPositives++;
            }
            w.Cumulative[rank - 1] = seen;
            bool groupEnds = rank == ranked || keys[rank] != keys[rank - 1];
            if (!groupEnds)
            {
                continue;
            }
            if (groupPositives > 0)
            {
                tieAware += (double)groupPositives * seen / rank;
                groupPositives = 0;
            }
            if (total > 0)
            {
                var point = new PrecisionRecallPoint(RankOrder.ScoreOf(keys[rank - 1]), (double)seen / total, (double)seen / rank);
                // Keep a point when recall or precision moved by 1/CurvePoints, and always the last.
                if (curve.Count == 0 || rank == ranked
                    || Math.Abs(point.Recall - curve[^1].Recall) >= 1.0 / CurvePoints || Math.Abs(point.Precision - curve[^1].Precision) >= 1.0 / CurvePoints)
                {
                    curve.Add(point);
                }
            }
        }

        // The sweep: the samples scoring above a threshold are a prefix of the ranking.
        var sweepTruePositives = new int[SweepThresholds.Length];
        var sweepPredicted = new int[SweepThresholds.Length];
        for (int t = 0; t < SweepThresholds.Length; t++)
        {
            int above = PrefixAbove(keys, SweepThresholds[t]);
            sweepPredicted[t] = above;
            sweepTruePositives[t] = above == 0 ? 0 : w.Cumulative[above - 1];
        }
        return new ClassCounts(
            seen == 0 ? 0 : sum / (seen + ReferenceEpsilon),
            seen == 0 ? 0 : tieAware / seen,
            seen, ranked - seen, ignored, counts)
        {
            Curve = curve,
            SweepTruePositives = sweepTruePositives,
            SweepPredicted = sweepPredicted,
        };
    }

    /// <summary>How many of the sorted keys belong to scores strictly above <paramref name="threshold"/>.</summary>
    private static int PrefixAbove(ReadOnlySpan<uint> keys, float threshold)
    {
        // Keys ascend as scores descend: scores above t have keys below the key of t (ties included at t).
        uint limit = RankOrder.DescendingKey(threshold);
        int lo = 0, hi = keys.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (keys[mid] < limit)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        return lo;
    }

    /// <summary>Throws for the first NaN score in row-major order, whichever worker found it.</summary>
    private static void ThrowFirstNaN(ClassCounts[] perClass, string scoreSource)
    {
        int bestRow = int.MaxValue, bestClass = -1;
        for (int c = 0; c < perClass.Length; c++)
        {
            if (perClass[c].NaNRow >= 0 && perClass[c].NaNRow < bestRow)
            {
                bestRow = perClass[c].NaNRow;
                bestClass = c;
            }
        }
        if (bestClass >= 0)
        {
            throw new ArgumentException($"{scoreSource}: score of row {bestRow}, class {bestClass} is NaN.", "scores");
        }
    }

    /// <summary>Per class TP/FP/FN when each sample predicts its k highest-scoring classes (ties: lower class index first).</summary>
    private static Counts[] TopKCounts(ScoreMatrix matrix, int k)
    {
        int classes = matrix.Columns;
        var counts = new Counts[classes];
        object gate = new();
        Parallel.ForEach(matrix.Blocks, () => new Counts[classes], (block, _, mine) =>
        {
            Span<int> top = stackalloc int[k];
            for (int r = 0; r < block.Rows; r++)
            {
                ReadOnlySpan<float> s = block.Scores.AsSpan(r * classes, classes);
                ReadOnlySpan<sbyte> y = block.Labels.AsSpan(r * classes, classes);
                int filled = 0;
                for (int c = 0; c < classes; c++)
                {
                    if (y[c] > 0)
                    {
                        mine[c].FalseNegatives++;   // undone below when predicted
                    }
                    // Insert into the descending top list; strict '>' keeps the lower index ahead on ties.
                    if (filled == k && !(s[c] > s[top[k - 1]]))
                    {
                        continue;
                    }
                    int at = Math.Min(filled, k - 1);
                    while (at > 0 && s[c] > s[top[at - 1]])
                    {
                        top[at] = top[at - 1];
                        at--;
                    }
                    top[at] = c;
                    filled = Math.Min(filled + 1, k);
                }
                for (int t = 0; t < filled; t++)
                {
                    sbyte label = y[top[t]];
                    if (label > 0)
                    {
                        mine[top[t]].TruePositives++;
                        mine[top[t]].FalseNegatives--;
                    }
                    else if (label == 0)
                    {
                        mine[top[t]].FalsePositives++;
                    }
                }
            }
            return mine;
        }, mine =>
        {
            lock (gate)
            {
                for (int c = 0; c < classes; c++)
                {
                    counts[c] = counts[c].Plus(mine[c]);
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

    private readonly record struct ClassCounts(double AveragePrecision, double AveragePrecisionTieAware, int Positives, int Negatives, int Ignored, Counts Decisions)
    {
        /// <summary>The first row with a NaN score; -1 when none.</summary>
        public int NaNRow { get; init; } = -1;

        public IReadOnlyList<PrecisionRecallPoint> Curve { get; init; } = [];

        public int[] SweepTruePositives { get; init; } = [];

        public int[] SweepPredicted { get; init; } = [];

        public static ClassCounts NaNAt(int row) => new(0, 0, 0, 0, 0, default) { NaNRow = row };
    }

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
    private sealed class GroupWorkspace(int n)
    {
        public readonly uint[] Keys = GC.AllocateUninitializedArray<uint>(checked(n * GroupSize));
        public readonly byte[] Positive = GC.AllocateUninitializedArray<byte>(checked(n * GroupSize));
        public readonly uint[] KeyScratch = GC.AllocateUninitializedArray<uint>(n);
        public readonly byte[] PositiveScratch = GC.AllocateUninitializedArray<byte>(n);
        public readonly int[] Cumulative = GC.AllocateUninitializedArray<int>(n);
    }
}
