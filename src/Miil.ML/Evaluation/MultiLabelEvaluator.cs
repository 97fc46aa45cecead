using System.Globalization;
using System.Runtime.Intrinsics;

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
internal static class MultiLabelEvaluator
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
        IReadOnlyList<string>? classNames = null, float threshold = ThresholdOptions.DefaultThreshold, int topK = 3, ReadOnlySpan<bool> predictedLabels = default)
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
        // One worker per core, each with one workspace, takes the next group of classes until none is
        // left: groups are small enough (8 classes) that the cores finish together.
        int groups = (classCount + GroupSize - 1) / GroupSize;
        int workers = Math.Min(Environment.ProcessorCount, groups);
        int next = -1;
        Parallel.For(0, workers, _ =>
        {
            var workspace = new GroupWorkspace(n);
            for (int g; (g = Interlocked.Increment(ref next)) < groups;)
            {
                EvaluateGroup(matrix, g * GroupSize, Math.Min(GroupSize, classCount - g * GroupSize), threshold, workspace, perClass);
            }
        });
        ThrowFirstNaN(perClass, scoreSource);
        Counts[] topKCounts = TopKCounts(matrix, Math.Min(topK, classCount), perClass);

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
    /// Classes are read in groups of 8 adjacent columns (half a cache line of floats per row) so that a
    /// pass over the row-major matrix serves 8 classes: reading one column at a time would pull every
    /// cache line of the matrix once per class, and larger groups would leave cores idle at the end
    /// (80 classes in groups of 16 split 3 to 2 over two cores).
    /// </summary>
    private const int GroupSize = 8;

    private static void EvaluateGroup(ScoreMatrix matrix, int first, int count, float threshold, GroupWorkspace w, ClassCounts[] results)
    {
        int n = matrix.Rows;
        var ranked = new int[count];
        var nanRow = new int[count];
        Array.Fill(nanRow, -1);
        var counts = new Counts[count];
        var ignored = new int[count];
        foreach (ScoreMatrix.Block block in matrix.Blocks)
        {
            ReadGroup(block, first, count, matrix.Columns, w.Items, n, ranked, counts, ignored, nanRow);
        }
        for (int j = 0; j < count; j++)
        {
            results[first + j] = nanRow[j] >= 0
                ? ClassCounts.NaNAt(nanRow[j])
                : Rank(w.Items.AsSpan(j * n, ranked[j]), w, ignored[j], matrix.WithDecisions ? counts[j] : null, threshold);
        }
    }

    /// <summary>
    /// Copies the group's classes of a block, row by row (the group's columns are adjacent), into one
    /// item stream per class (key and label), leaving ignored labels out. Decisions given as a column
    /// are counted here; decisions by threshold are read off the ranking later (a prefix of it), which
    /// keeps this loop free of branches in the common case.
    /// </summary>
    private static unsafe void ReadGroup(ScoreMatrix.Block block, int first, int count, int columns, ulong[] items, int n,
        int[] ranked, Counts[] counts, int[] ignored, int[] nanRow)
    {
        bool[]? decisions = block.Decisions;
        // The block's arrays are pinned (ScoreMatrix), and items is this worker's.
        fixed (float* scores = block.Scores)
        fixed (sbyte* labels = block.Labels)
        fixed (ulong* stream = items)
        {
            ulong** write = stackalloc ulong*[count];
            for (int j = 0; j < count; j++)
            {
                write[j] = stream + (long)j * n + ranked[j];
            }
            for (int r = 0; r < block.Rows; r++)
            {
                long rowAt = (long)r * columns + first;
                float* s = scores + rowAt;
                sbyte* y = labels + rowAt;
                for (int j = 0; j < count; j++)
                {
                    float score = s[j];
                    sbyte label = y[j];
                    if (label < 0 || float.IsNaN(score))
                    {
                        if (label < 0)
                        {
                            ignored[j]++;
                        }
                        else if (nanRow[j] < 0)
                        {
                            nanRow[j] = block.FirstRow + r;
                        }
                        continue;
                    }
                    if (decisions is not null)
                    {
                        counts[j].Add(decisions[rowAt + j], label > 0);
                    }
                    *write[j]++ = RankOrder.Item(score, (byte)label);
                }
            }
            for (int j = 0; j < count; j++)
            {
                ranked[j] = (int)(write[j] - (stream + (long)j * n));
            }
        }
    }

    /// <summary>Thresholds of <see cref="MultiLabelMetrics.ThresholdSweep"/>: 0.05 to 0.95 by 0.05.</summary>
    private static readonly float[] SweepThresholds = Enumerable.Range(1, 19).Select(i => i / 20f).ToArray();

    /// <summary>Most points kept per precision-recall curve.</summary>
    private const int CurvePoints = 200;

    private const double CurveStep = 1.0 / CurvePoints;

    /// <summary>
    /// Sorts one class's samples by descending score; computes both APs, the PR curve, the sweep counts
    /// and, without a decisions column, the decisions at <paramref name="threshold"/> (a prefix of the ranking).
    /// </summary>
    private static ClassCounts Rank(Span<ulong> items, GroupWorkspace w, int ignored, Counts? givenDecisions, float threshold)
    {
        int ranked = items.Length;
        items = RankOrder.SortItems(items, w.Scratch);
        int total = 0;
        foreach (ulong item in items)
        {
            total += (byte)item;
        }

        // Reference: precision at the rank of each positive, ties in sample order.
        // Tie-aware: one threshold per distinct score, precision taken at the end of each tie group,
        // which are also the points of the precision-recall curve.
        double sum = 0, tieAware = 0;
        int seen = 0, groupPositives = 0;
        var curve = new List<PrecisionRecallPoint>();
        // A curve point is kept when recall or precision moved by 1/CurvePoints since the last kept
        // one, and always the last: tested with multiplications, since nearly every rank ends a group.
        double recallStep = (double)total / CurvePoints;
        int lastSeen = 0;
        double lastPrecision = 0;
        Span<int> cumulative = w.Cumulative;
        for (int rank = 1; rank <= ranked; rank++)
        {
            if ((byte)items[rank - 1] != 0)
            {
                seen++;
                sum += (double)seen / rank;
                groupPositives++;
            }
            cumulative[rank - 1] = seen;
            if (rank < ranked && RankOrder.KeyOf(items[rank]) == RankOrder.KeyOf(items[rank - 1]))
            {
                continue;
            }
            if (groupPositives > 0)
            {
                tieAware += (double)groupPositives * seen / rank;
                groupPositives = 0;
            }
            if (total > 0 && (curve.Count == 0 || rank == ranked || seen - lastSeen >= recallStep
                || Math.Abs(seen - lastPrecision * rank) >= rank * CurveStep))
            {
                var point = new PrecisionRecallPoint(RankOrder.ScoreOf(RankOrder.KeyOf(items[rank - 1])), (double)seen / total, (double)seen / rank);
                curve.Add(point);
                lastSeen = seen;
                lastPrecision = point.Precision;
            }
        }

        // The sweep: the samples scoring above a threshold are a prefix of the ranking.
        var sweepTruePositives = new int[SweepThresholds.Length];
        var sweepPredicted = new int[SweepThresholds.Length];
        for (int t = 0; t < SweepThresholds.Length; t++)
        {
            (sweepPredicted[t], sweepTruePositives[t]) = Above(items, cumulative, SweepThresholds[t]);
        }
        Counts decisions = givenDecisions ?? FromPrefix(Above(items, cumulative, threshold), total);
        return new ClassCounts(
            seen == 0 ? 0 : sum / (seen + ReferenceEpsilon),
            seen == 0 ? 0 : tieAware / seen,
            seen, ranked - seen, ignored, decisions)
        {
            Curve = curve,
            SweepTruePositives = sweepTruePositives,
            SweepPredicted = sweepPredicted,
        };
    }

    /// <summary>Predicted (scores strictly above <paramref name="threshold"/>) and true positives among them.</summary>
    private static (int Predicted, int TruePositives) Above(ReadOnlySpan<ulong> items, ReadOnlySpan<int> cumulative, float threshold)
    {
        int above = PrefixAbove(items, threshold);
        return (above, above == 0 ? 0 : cumulative[above - 1]);
    }

    private static Counts FromPrefix((int Predicted, int TruePositives) prefix, int positives) => new()
    {
        TruePositives = prefix.TruePositives,
        FalsePositives = prefix.Predicted - prefix.TruePositives,
        FalseNegatives = positives - prefix.TruePositives,
    };

    /// <summary>How many of the sorted keys belong to scores strictly above <paramref name="threshold"/>.</summary>
    private static int PrefixAbove(ReadOnlySpan<ulong> items, float threshold)
    {
        // Keys ascend as scores descend: scores above t have keys below the key of t (ties included at t).
        uint limit = RankOrder.DescendingKey(threshold);
        int lo = 0, hi = items.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (RankOrder.KeyOf(items[mid]) < limit)
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

    /// <summary>
    /// Per class TP/FP/FN when each sample predicts its k highest-scoring classes (ties: lower class
    /// index first). Only the predictions are visited: a class's false negatives are its positives
    /// (known from its ranking) less its true positives.
    /// </summary>
    private static Counts[] TopKCounts(ScoreMatrix matrix, int k, ClassCounts[] perClass)
    {
        int classes = matrix.Columns;
        var counts = new Counts[classes];
        object gate = new();
        Parallel.ForEach(matrix.Blocks, () => new Counts[classes], (block, _, mine) =>
        {
            Span<int> top = stackalloc int[k];
            for (int r = 0; r < block.Rows; r++)
            {
                ReadOnlySpan<sbyte> y = block.Labels.AsSpan(r * classes, classes);
                TopOf(block.Scores.AsSpan(r * classes, classes), top);
                foreach (int c in top)
                {
                    if (y[c] > 0)
                    {
                        mine[c].TruePositives++;
                    }
                    else if (y[c] == 0)
                    {
                        mine[c].FalsePositives++;
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
        for (int c = 0; c < classes; c++)
        {
            counts[c].FalseNegatives = perClass[c].Positives - counts[c].TruePositives;
        }
        return counts;
    }

    /// <summary>The indices of the <c>top.Length</c> highest scores, highest first; equal scores: the lower index first.</summary>
    /// <remarks>
    /// With 256-bit vectors and up to four picks, a lane-wise network first finds each lane's highest
    /// scores, which bound the k-th highest of the row from below; only the scores at or above that
    /// bound (a handful) go through the insertion, in index order, so the result is the insertion's.
    /// </remarks>
    private static void TopOf(ReadOnlySpan<float> s, Span<int> top)
    {
        int k = top.Length;
        if (!Vector256.IsHardwareAccelerated || k > 4 || s.Length < 2 * 8 * k)
        {
            Insert(s, top, float.NegativeInfinity);
            return;
        }
        Span<Vector256<float>> best = stackalloc Vector256<float>[k];
        best.Fill(Vector256.Create(float.NegativeInfinity));
        int chunks = s.Length / 8;
        for (int c = 0; c < chunks; c++)
        {
            Vector256<float> v = Vector256.Create(s.Slice(8 * c, 8));
            for (int i = 0; i < k; i++)
            {
                Vector256<float> high = Vector256.Max(best[i], v);
                v = Vector256.Min(best[i], v);
                best[i] = high;
            }
        }
        // The k-th highest of the lane winners is at most the row's k-th highest score.
        Span<float> candidates = stackalloc float[8 * k];
        for (int i = 0; i < k; i++)
        {
            best[i].CopyTo(candidates.Slice(8 * i, 8));
        }
        float bound = float.NegativeInfinity;
        for (int pick = 0; pick < k; pick++)
        {
            int at = 0;
            for (int i = 1; i < candidates.Length; i++)
            {
                at = candidates[i] > candidates[at] ? i : at;
            }
            bound = candidates[at];
            candidates[at] = float.NegativeInfinity;
        }
        Insert(s, top, bound);
    }

    /// <summary>Insertion of every score at or above <paramref name="bound"/> into the descending list; strict '>' keeps the lower index ahead on ties.</summary>
    private static void Insert(ReadOnlySpan<float> s, Span<int> top, float bound)
    {
        int k = top.Length, filled = 0;
        for (int c = 0; c < s.Length; c++)
        {
            float v = s[c];
            if (v < bound || (filled == k && !(v > s[top[k - 1]])))
            {
                continue;
            }
            int at = Math.Min(filled, k - 1);
            while (at > 0 && v > s[top[at - 1]])
            {
                top[at] = top[at - 1];
                at--;
            }
            top[at] = c;
            filled = Math.Min(filled + 1, k);
        }
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
        /// <summary>The group's classes, n items each: score key and label (<see cref="RankOrder.Item"/>).</summary>
        public readonly ulong[] Items = GC.AllocateUninitializedArray<ulong>(checked(n * GroupSize));
        public readonly ulong[] Scratch = GC.AllocateUninitializedArray<ulong>(n);
        public readonly int[] Cumulative = GC.AllocateUninitializedArray<int>(n);
    }
}
