namespace Miil.ML.Evaluation;

/// <summary>Tuned thresholds and the metrics they give on the data they were tuned on.</summary>
public sealed record TunedThresholds
{
    /// <summary>Class names, in label order.</summary>
    public required IReadOnlyList<string> ClassNames { get; init; }

    /// <summary>One threshold per class (all equal when tuned globally); predicted positive when score &gt; threshold.</summary>
    public required IReadOnlyList<float> Thresholds { get; init; }

    /// <summary>Classes for which no threshold reached the target precision (they predict nothing: threshold at their highest score).</summary>
    public required IReadOnlyList<string> TargetNotReached { get; init; }

    /// <summary>The options used.</summary>
    public required ThresholdOptions Options { get; init; }

    /// <summary>The evaluation with these thresholds, on the tuning data (optimistic for unseen data).</summary>
    public required MultiLabelMetrics Metrics { get; init; }
}

/// <summary>Chooses decision thresholds on validation scores (array level; <c>mlContext.MultiLabel().TuneThresholds</c> reads an IDataView into it).</summary>
internal static class ThresholdTuner
{
    /// <summary>Tunes thresholds on row-major N x C scores and labels (1, 0, -1 ignored); without options, per class maximising F1.</summary>
    /// <exception cref="ArgumentException">Inputs as for <see cref="MultiLabelEvaluator.Evaluate(ReadOnlySpan{float}, ReadOnlySpan{float}, int, IReadOnlyList{string}?, float, int, ReadOnlySpan{bool})"/>, or a target precision outside (0, 1].</exception>
    public static TunedThresholds Tune(ReadOnlySpan<float> scores, ReadOnlySpan<float> labels, int classCount,
        IReadOnlyList<string>? classNames = null, ThresholdOptions? options = null)
        => Tune(scores, labels, classCount, classNames, options, DefaultColumnNames.Score, DefaultColumnNames.Label);

    /// <summary>The tuning, with the names of the scores' and labels' sources for error messages.</summary>
    internal static TunedThresholds Tune(ReadOnlySpan<float> scores, ReadOnlySpan<float> labels, int classCount,
        IReadOnlyList<string>? classNames, ThresholdOptions? options, string scoreSource, string labelSource)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 1);
        if (scores.Length != labels.Length || scores.Length % classCount != 0 || scores.Length == 0)
        {
            throw new ArgumentException($"Scores ({scores.Length}) and labels ({labels.Length}) must both be N x {classCount} with N > 0.", nameof(labels));
        }
        return Tune(ScoreMatrix.From(scores, labels, default, classCount, labelSource), classNames, options, scoreSource);
    }

    /// <summary>The tuning of a matrix already read.</summary>
    internal static TunedThresholds Tune(ScoreMatrix matrix, IReadOnlyList<string>? classNames, ThresholdOptions? options, string scoreSource)
    {
        options = (options ?? new ThresholdOptions { Selection = ThresholdSelection.TunedPerClass }) with { };
        options.Validate(nameof(options));
        int classCount = matrix.Columns;
        if (classNames is not null && classNames.Count != classCount)
        {
            throw new ArgumentException($"{classNames.Count} class names for {classCount} classes.", nameof(classNames));
        }
        IReadOnlyList<string> names = classNames ?? Enumerable.Range(0, classCount).Select(i => $"class_{i}").ToList();
        ThrowOnNaN(matrix, scoreSource);
        var thresholds = new float[classCount];
        var missed = new List<string>();
        if (options.Selection == ThresholdSelection.Fixed)
        {
            Array.Fill(thresholds, options.Threshold);
        }
        else if (options.Selection == ThresholdSelection.TunedPerClass)
        {
            var column = new List<(float, bool)>(matrix.Rows);
            for (int c = 0; c < classCount; c++)
            {
                column.Clear();
                Collect(matrix, c, column);
                (thresholds[c], bool reached) = Choose(column, options);
                if (!reached)
                {
                    missed.Add(names[c]);
                }
            }
        }
        else
        {
            var all = new List<(float, bool)>();
            for (int c = 0; c < classCount; c++)
            {
                Collect(matrix, c, all);
            }
            (float t, bool reached) = Choose(all, options);
            Array.Fill(thresholds, t);
            if (!reached)
            {
                missed.AddRange(names);
            }
        }

        // The same matrix with the tuned decisions.
        var decided = ScoreMatrix.Create(classCount, withDecisions: true, matrix.Rows);
        var rowLabels = new float[classCount];
        var rowDecisions = new bool[classCount];
        foreach (ScoreMatrix.Block block in matrix.Blocks)
        {
            for (int r = 0; r < block.Rows; r++)
            {
                ReadOnlySpan<float> rowScores = block.Scores.AsSpan(r * classCount, classCount);
                for (int c = 0; c < classCount; c++)
                {
                    rowLabels[c] = block.Labels[r * classCount + c];
                    rowDecisions[c] = rowScores[c] > thresholds[c];
                }
                decided.Add(rowScores, rowLabels, rowDecisions, "labels");
            }
        }
        return new TunedThresholds
        {
            ClassNames = names,
            Thresholds = thresholds,
            TargetNotReached = missed,
            Options = options,
            Metrics = MultiLabelEvaluator.Evaluate(decided, classNames, ThresholdOptions.DefaultThreshold, options.TopK, scoreSource),
        };
    }

    /// <summary>Refuses NaN scores before any sweep (ranking NaN would give meaningless cuts).</summary>
    private static void ThrowOnNaN(ScoreMatrix matrix, string scoreSource)
    {
        foreach (ScoreMatrix.Block block in matrix.Blocks)
        {
            int at = Array.FindIndex(block.Scores, 0, block.Rows * matrix.Columns, float.IsNaN);
            if (at >= 0)
            {
                throw new ArgumentException(
                    $"{scoreSource}: score of row {block.FirstRow + at / matrix.Columns}, class {at % matrix.Columns} is NaN.", "scores");
            }
        }
    }

    /// <summary>Appends class <paramref name="c"/>'s (score, positive) pairs, ignored labels left out.</summary>
    private static void Collect(ScoreMatrix matrix, int c, List<(float, bool)> into)
    {
        foreach (ScoreMatrix.Block block in matrix.Blocks)
        {
            for (int r = 0; r < block.Rows; r++)
            {
                sbyte y = block.Labels[r * matrix.Columns + c];
                if (y >= 0)
                {
                    into.Add((block.Scores[r * matrix.Columns + c], y > 0));
                }
            }
        }
    }

    /// <summary>
    /// Sweeps every distinct score as a cut (all samples scoring at least that much predicted
    /// positive) and returns a threshold between the chosen cut and the next lower score.
    /// </summary>
    private static (float Threshold, bool Reached) Choose(List<(float Score, bool Positive)> samples, ThresholdOptions options)
    {
        if (samples.Count == 0)
        {
            return (ThresholdOptions.DefaultThreshold, options.Objective != ThresholdObjective.TargetPrecision);
        }
        var keys = new uint[samples.Count];
        var positive = new byte[samples.Count];
        for (int i = 0; i < samples.Count; i++)
        {
            keys[i] = RankOrder.DescendingKey(samples[i].Score);
            positive[i] = samples[i].Positive ? (byte)1 : (byte)0;
        }
        RankOrder.Sort(keys, positive, new uint[keys.Length], new byte[keys.Length]);
        int total = positive.Count(p => p != 0);

        float highest = RankOrder.ScoreOf(keys[0]);
        float best = highest;            // "predict nothing": no sample scores above the highest score
        double bestValue = options.Objective == ThresholdObjective.MaximizeF1 ? 0 : double.NegativeInfinity;
        bool reached = false;
        int tp = 0;
        for (int k = 0; k < keys.Length; k++)
        {
            tp += positive[k];
            if (k + 1 < keys.Length && keys[k + 1] == keys[k])
            {
                continue;   // a cut falls only between distinct scores
            }
            int predicted = k + 1, fp = predicted - tp, fn = total - tp;
            float cut = RankOrder.ScoreOf(keys[k]);
            float below = k + 1 < keys.Length ? RankOrder.ScoreOf(keys[k + 1]) : MathF.BitDecrement(cut);
            if (options.Objective == ThresholdObjective.MaximizeF1)
            {
                double f1 = tp == 0 ? 0 : 2.0 * tp / (2.0 * tp + fp + fn);
                if (f1 > bestValue)
                {
                    bestValue = f1;
                    best = Between(cut, below);
                    reached = true;
                }
            }
            else if (tp > 0 && (double)tp / predicted >= options.TargetPrecision)
            {
                best = Between(cut, below);   // later cuts have more recall: keep the last that qualifies
                reached = true;
            }
        }
        return (best, reached || (options.Objective == ThresholdObjective.MaximizeF1 && total == 0));
    }

    /// <summary>A threshold t with below &lt;= t &lt; cut, so that 'score &gt; t' selects exactly the scores >= cut.</summary>
    private static float Between(float cut, float below)
    {
        float middle = (float)(((double)cut + below) / 2);
        return middle < cut && middle >= below ? middle : below;
    }
}
