using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using Miil.ML.Evaluation;

namespace Miil.ML.Reports;

/// <summary>
/// Reads a scored data view into a <see cref="MultiLabelReportContent"/>: the metrics, label statistics
/// (co-occurrence of the most frequent classes, cardinality) and the gallery (an even sample, the worst
/// images, the worst classes' false positives), in two passes: the scores, then the chosen rows' images.
/// Memory stays bounded whatever the data's size: only the chosen rows are kept.
/// </summary>
internal static class ReportBuilder
{
    private sealed record Row(long Index, bool[] Truth, float[] Scores, bool[] Decisions, double Error);

    public static MultiLabelReportContent Build(MLContext context, IDataView scored, MultiLabelMetrics metrics, string labelColumnName, string scoreColumnName,
        string? predictedLabelsColumnName, ReportOptions options)
    {
        DataViewSchema schema = scored.Schema;
        DataViewSchema.Column label = Column(schema, labelColumnName, "labelColumnName");
        DataViewSchema.Column score = Column(schema, scoreColumnName, "scoreColumnName");
        DataViewSchema.Column? decision = predictedLabelsColumnName is string d && schema.GetColumnOrNull(d) is { } dc ? dc : null;
        DataViewSchema.Column? image = options.ImageColumnName is string i && schema.GetColumnOrNull(i) is { } ic ? ic : null;
        if (image is { } col && col.Type is not TextDataViewType && col.Type is not ImageDataViewType)
        {
            throw new ArgumentException($"Column '{col.Name}' is {col.Type}, not image paths (text) or images: the gallery cannot show it.", nameof(options));
        }
        IReadOnlyList<string> classes = metrics.PerClass.Select(c => c.Name).ToList();
        int c = classes.Count;

        // The co-occurrence view covers the most frequent classes; the worst classes are the lowest AP among those with positives.
        int[] frequent = metrics.PerClass.OrderByDescending(k => k.Positives).ThenBy(k => k.Index).Take(options.MaxCoOccurrenceClasses).Select(k => k.Index).ToArray();
        int[] worstClasses = metrics.PerClass.Where(k => k.HasPositives).OrderBy(k => k.AveragePrecision).ThenBy(k => k.Index).Take(options.WorstClasses).Select(k => k.Index).ToArray();
        long rows = scored.GetRowCount() ?? Count(scored);
        var sampleRows = new HashSet<long>(Enumerable.Range(0, (int)Math.Min(options.SampleImages, rows)).Select(k => k * rows / Math.Max(1, Math.Min(options.SampleImages, rows))));

        var co = new long[frequent.Length][];
        for (int a = 0; a < frequent.Length; a++)
        {
            co[a] = new long[frequent.Length];
        }
        var trueCardinality = new long[c + 1];
        var predictedCardinality = new long[c + 1];
        var samples = new List<Row>();
        var worst = new PriorityQueue<Row, double>();
        var falsePositives = worstClasses.ToDictionary(k => k, _ => new PriorityQueue<Row, float>());

        IEnumerable<DataViewSchema.Column> needed = new[] { label, score }.Concat(decision is { } dd ? [dd] : []);
        using (DataViewRowCursor cursor = scored.GetRowCursor(needed))
        {
            ValueGetter<VBuffer<float>> getLabel = cursor.GetGetter<VBuffer<float>>(label);
            ValueGetter<VBuffer<float>> getScore = cursor.GetGetter<VBuffer<float>>(score);
            ValueGetter<VBuffer<bool>>? getDecision = decision is { } dcol ? cursor.GetGetter<VBuffer<bool>>(dcol) : null;
            VBuffer<float> labels = default, scores = default;
            VBuffer<bool> decisions = default;
            while (cursor.MoveNext())
            {
                getLabel(ref labels);
                getScore(ref scores);
                float[] s = scores.DenseValues().ToArray();
                bool[] t = labels.DenseValues().Select(v => v == 1).ToArray();
                bool[] p;
                if (getDecision is not null)
                {
                    getDecision(ref decisions);
                    p = decisions.DenseValues().ToArray();
                }
                else
                {
                    p = s.Select(v => v >= options.Threshold).ToArray();
                }
                if (s.Length != c || t.Length != c || p.Length != c)
                {
                    throw new InvalidOperationException($"Row {cursor.Position} has {t.Length} labels, {s.Length} scores and {p.Length} decisions; the metrics have {c} classes.");
                }
                double error = 0;
                for (int k = 0; k < c; k++)
                {
                    error += Math.Abs((t[k] ? 1 : 0) - (float.IsNaN(s[k]) ? 0 : s[k]));
                }
                trueCardinality[t.Count(x => x)]++;
                predictedCardinality[p.Count(x => x)]++;
                for (int a = 0; a < frequent.Length; a++)
                {
                    if (!t[frequent[a]])
                    {
                        continue;
                    }
                    for (int b = 0; b < frequent.Length; b++)
                    {
                        co[a][b] += t[frequent[b]] ? 1 : 0;
                    }
                }
                var row = new Row(cursor.Position, t, s, p, error);
                if (sampleRows.Contains(cursor.Position))
                {
                    samples.Add(row);
                }
                Keep(worst, row, error, options.WorstImages);
                foreach (int k in worstClasses)
                {
                    if (!t[k] && p[k])
                    {
                        Keep(falsePositives[k], row, s[k], options.FalsePositivesPerClass);
                    }
                }
            }
        }

        var chosen = new List<(GallerySection Section, string? Class, Row Row)>();
        if (image is null)
        {
            samples.Clear();  // no image column: no gallery
            worst.Clear();
            foreach (PriorityQueue<Row, float> queue in falsePositives.Values)
            {
                queue.Clear();
            }
        }
        chosen.AddRange(samples.Select(r => (GallerySection.Sample, (string?)null, r)));
        chosen.AddRange(Drain(worst).OrderByDescending(r => r.Error).ThenBy(r => r.Index).Select(r => (GallerySection.WorstImage, (string?)null, r)));
        foreach (int k in worstClasses)
        {
            chosen.AddRange(Drain(falsePositives[k]).OrderByDescending(r => r.Scores[k]).ThenBy(r => r.Index).Select(r => (GallerySection.ClassFalsePositive, (string?)classes[k], r)));
        }
        IReadOnlyDictionary<long, (string? Path, byte[]? Thumbnail)> pictures = image is { } imageColumn
            ? Thumbnails.Read(scored, imageColumn, chosen.Select(x => x.Row.Index).ToHashSet(), options)
            : new Dictionary<long, (string?, byte[]?)>();
        long budget = options.MaxGalleryBytes;
        var gallery = new List<GalleryImage>();
        foreach ((GallerySection section, string? cls, Row r) in chosen)
        {
            (string? path, byte[]? thumbnail) = pictures.TryGetValue(r.Index, out var pic) ? pic : (null, null);
            if (thumbnail is not null && (budget -= thumbnail.Length) < 0)
            {
                thumbnail = null;  // over the budget: listed without its picture
            }
            gallery.Add(new GalleryImage
            {
                Section = section,
                Class = cls,
                Row = r.Index,
                Path = path,
                Thumbnail = thumbnail,
                TrueLabels = Enumerable.Range(0, c).Where(k => r.Truth[k]).Select(k => classes[k]).ToList(),
                Labels = Enumerable.Range(0, c).Where(k => r.Truth[k] || r.Decisions[k])
                    .Select(k => new GalleryLabel(classes[k], r.Scores[k], r.Truth[k] ? (r.Decisions[k] ? LabelOutcome.TruePositive : LabelOutcome.Missed) : LabelOutcome.FalsePositive))
                    .OrderByDescending(l => l.Score).ToList(),
                Error = r.Error,
            });
        }
        int maxTrue = Array.FindLastIndex(trueCardinality, n => n > 0), maxPredicted = Array.FindLastIndex(predictedCardinality, n => n > 0);
        int width = Math.Max(maxTrue, maxPredicted) + 1;
        return new MultiLabelReportContent
        {
            Title = options.Title,
            Metrics = metrics,
            Gallery = gallery,
            Labels = new LabelStatistics
            {
                ClassNames = frequent.Select(k => classes[k]).ToList(),
                CoOccurrence = co,
                TrueCardinality = trueCardinality[..Math.Max(1, width)],
                PredictedCardinality = predictedCardinality[..Math.Max(1, width)],
            },
        };
    }

    private static void Keep<TPriority>(PriorityQueue<Row, TPriority> queue, Row row, TPriority priority, int capacity)
    {
        if (capacity == 0)
        {
            return;
        }
        if (queue.Count < capacity)
        {
            queue.Enqueue(row, priority);
        }
        else
        {
            queue.EnqueueDequeue(row, priority);  // keeps the largest: the smallest leaves
        }
    }

    private static List<Row> Drain<TPriority>(PriorityQueue<Row, TPriority> queue)
    {
        var list = new List<Row>();
        while (queue.TryDequeue(out Row? r, out _))
        {
            list.Add(r);
        }
        return list;
    }

    private static long Count(IDataView data)
    {
        long n = 0;
        using DataViewRowCursor cursor = data.GetRowCursor([]);
        while (cursor.MoveNext())
        {
            n++;
        }
        return n;
    }

    private static DataViewSchema.Column Column(DataViewSchema schema, string name, string option)
        => schema.GetColumnOrNull(name) ?? throw new ArgumentException(
            $"The scored data has no column '{name}' (ReportOptions.{option}); it has {string.Join(", ", schema.Where(c => !c.IsHidden).Select(c => $"'{c.Name}'"))}.");
}
