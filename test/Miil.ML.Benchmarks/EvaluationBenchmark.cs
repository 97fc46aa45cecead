using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Miil.ML;
using Miil.ML.Evaluation;

namespace Miil.ML.Benchmarks;

/// <summary>
/// <c>evaluate</c> command: <c>mlContext.MultiLabel().Evaluate</c> over an IDataView of synthetic
/// scores (cursor pass included) for several N x C, with seconds and peak memory, and scikit-learn's
/// macro average precision on the same matrices in the same run where it is installed. Usage:
/// <c>evaluate [--shape 100000x80] [--shape ...] [--repeat 3]</c>.
/// </summary>
internal static class EvaluationBenchmark
{
    public static int Run(string[] args)
    {
        var shapes = new List<(int N, int C)>();
        int repeat = 3;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--shape":
                    string[] p = args[++i].Split('x');
                    shapes.Add((int.Parse(p[0], CultureInfo.InvariantCulture), int.Parse(p[1], CultureInfo.InvariantCulture)));
                    break;
                case "--repeat":
                    repeat = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                default:
                    Console.Error.WriteLine($"unknown argument '{args[i]}'");
                    return 2;
            }
        }
        if (shapes.Count == 0)
        {
            shapes.AddRange([(100_000, 80), (1_000_000, 80), (100_000, 9605)]);
        }
        string? python = ScikitLearnReference.FindPython();
        Console.WriteLine($"# Evaluate over an IDataView, {DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} cores, best of {repeat}"
            + (python is null ? "; scikit-learn not found (python3 with sklearn): ours only" : $"; scikit-learn through {python}, best of 3, same matrices"));
        // "arrays": the same evaluation on row-major arrays already in memory (MultiLabelEvaluator), so the
        // difference to the IDataView figure is the cursor pass and the copy into row blocks.
        Console.WriteLine("| N x C | data | seconds (best) | seconds (first) | arrays s (best) | peak RSS MiB | mAP | tie-aware mAP | scikit-learn s | vs scikit-learn |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach ((int n, int c) in shapes)
        {
            var ml = new MLContext(seed: 0);
            IDataView data = Synthetic(ml, n, c);
            PeakMemory.Reset();
            double first = 0, best = double.MaxValue;
            MultiLabelMetrics? metrics = null;
            for (int r = 0; r < repeat; r++)
            {
                var watch = Stopwatch.StartNew();
                metrics = ml.MultiLabel().Evaluate(data);
                double seconds = watch.Elapsed.TotalSeconds;
                first = r == 0 ? seconds : first;
                best = Math.Min(best, seconds);
            }
            string reference = "- | -", arrays = "-";
            if ((long)n * c <= 10_000_000)
            {
                (float[] scores, float[] labels) = Matrices(n, c);
                double arraysBest = double.MaxValue;
                for (int r = 0; r < repeat; r++)
                {
                    var watch = Stopwatch.StartNew();
                    MultiLabelEvaluator.Evaluate(scores, labels, c);
                    arraysBest = Math.Min(arraysBest, watch.Elapsed.TotalSeconds);
                }
                arrays = arraysBest.ToString("F3", CultureInfo.InvariantCulture);
                if (python is not null)
                {
                    (double seconds, double ap) = ScikitLearnReference.Time(python, scores, labels, n, c, repeat: 3);
                    if (Math.Abs(ap - metrics!.MeanAveragePrecisionTieAware) > 1e-6)
                    {
                        throw new InvalidOperationException($"scikit-learn's macro AP {ap} differs from our tie-aware mAP {metrics.MeanAveragePrecisionTieAware}.");
                    }
                    reference = string.Create(CultureInfo.InvariantCulture, $"{seconds:F3} | {seconds / best:F1}x");
                }
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {n:N0} x {c:N0} | {DataKind(n, c)} | {best:F3} | {first:F3} | {arrays} | {PeakMemory.MiB():F0} | {metrics!.MeanAveragePrecision:P2} | {metrics.MeanAveragePrecisionTieAware:P2} | {reference} |"));
        }
        return 0;
    }

    private static string DataKind(int n, int c) => (long)n * c <= 100_000_000 ? "in memory" : "generated per cursor";

    /// <summary>
    /// Scores correlated with COCO-like sparse labels. Up to 1e8 values the rows live in memory
    /// (LoadFromEnumerable over an array); beyond, they are generated on each cursor pass, which costs
    /// the same per row without holding two copies of 4 GB.
    /// </summary>
    private static IDataView Synthetic(MLContext ml, int n, int c)
    {
        SchemaDefinition schema = SchemaDefinition.Create(typeof(Row));
        schema["Label"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, c);
        schema["Score"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, c);
        IEnumerable<Row> rows = Generate(n, c);
        return (long)n * c <= 100_000_000 ? ml.Data.LoadFromEnumerable(rows.ToArray(), schema) : ml.Data.LoadFromEnumerable(rows, schema);
    }

    /// <summary>The same matrices as <see cref="Generate"/>, row-major.</summary>
    private static (float[] Scores, float[] Labels) Matrices(int n, int c)
    {
        var scores = new float[n * c];
        var labels = new float[n * c];
        int i = 0;
        foreach (Row row in Generate(n, c))
        {
            row.Score.CopyTo(scores, i * c);
            row.Label.CopyTo(labels, i * c);
            i++;
        }
        return (scores, labels);
    }

    private static IEnumerable<Row> Generate(int n, int c)
    {
        var random = new Random(1);
        for (int i = 0; i < n; i++)
        {
            var label = new float[c];
            var score = new float[c];
            for (int k = 0; k < c; k++)
            {
                bool positive = random.NextDouble() < 3.0 / c;
                label[k] = positive ? 1 : 0;
                double z = (positive ? 1 : -1) + 1.2 * (random.NextDouble() * 2 - 1);
                score[k] = (float)(1 / (1 + Math.Exp(-z)));
            }
            yield return new Row { Label = label, Score = score };
        }
    }



    private sealed class Row
    {
        public float[] Label { get; set; } = [];

        public float[] Score { get; set; } = [];
    }
}
