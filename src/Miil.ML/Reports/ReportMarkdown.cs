using System.Globalization;
using System.Text;
using Miil.ML.Evaluation;
using Miil.ML.IO;
using static Miil.ML.Reports.MultiLabelReport;

namespace Miil.ML.Reports;

/// <summary>
/// The report as Markdown: the tables inline; with a file path, the charts (SVG) and the gallery's
/// thumbnails (JPEG) are written beside it in <c>&lt;name&gt;_files/</c> and linked.
/// </summary>
internal static class ReportMarkdown
{
    public static string Write(MultiLabelReportContent report, string? path)
    {
        MultiLabelMetrics metrics = report.Metrics;
        string? folder = path is null ? null : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, Path.GetFileNameWithoutExtension(path) + "_files");
        string Asset(string name, byte[] content)
        {
            AtomicFile.Write(Path.Combine(folder!, name), s => s.Write(content));
            return $"{Path.GetFileName(folder)}/{name}";
        }
        string Chart(string name, string svg, string alt)
            => folder is null ? "" : $"![{alt}]({Asset(name, Encoding.UTF8.GetBytes("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + svg))})\n\n";

        var md = new StringBuilder();
        md.AppendLine($"# {report.Title}").AppendLine();
        md.AppendLine(Inv($"{metrics.SampleCount} samples, {metrics.ClassCount} classes, label cardinality {metrics.LabelCardinality:F2}, density {Pct(metrics.LabelDensity)} %. Values in percent.")).AppendLine();
        md.AppendLine("| metric | value |").AppendLine("|---|---:|");
        foreach ((string name, string value) in Summary(metrics))
        {
            md.AppendLine($"| {name} | {value} |");
        }
        if (report.Training is { } training)
        {
            md.AppendLine().AppendLine("## Training").AppendLine();
            md.Append(Chart("training.svg", ReportPlots.Training(training), "training curves"));
            md.AppendLine("| epoch | loss | learning rate | validation mAP | EMA mAP | images/s |").AppendLine("|---:|---:|---:|---:|---:|---:|");
            foreach (EpochSummary e in training.Epochs)
            {
                string mark = e.Epoch == training.SelectedEpoch ? $" **selected ({training.SelectedWeights})**" : "";
                md.AppendLine(Inv($"| {e.Epoch}{mark} | {e.Loss:F4} | {(e.LearningRate is double lr ? lr.ToString("0.00E0", CultureInfo.InvariantCulture) : "-")} | {Opt(e.ValidationMap)} | {Opt(e.EmaValidationMap)} | {e.ImagesPerSecond:F1} |"));
            }
            if (training.Options.Count > 0)
            {
                md.AppendLine().AppendLine("| option | value |").AppendLine("|---|---|");
                foreach ((string name, string value) in training.Options)
                {
                    md.AppendLine($"| {Cell(name)} | {Cell(value)} |");
                }
            }
        }
        if (report.Gallery.Count > 0)
        {
            md.AppendLine().AppendLine("## Gallery").AppendLine();
            md.AppendLine("Labels: ✓ true positive, ✗ false positive, ○ missed; scores in brackets.").AppendLine();
            md.AppendLine("| section | image | true labels | model |").AppendLine("|---|---|---|---|");
            foreach (GalleryImage g in report.Gallery)
            {
                string section = g.Section switch { GallerySection.Sample => "sample", GallerySection.WorstImage => "worst", _ => $"false positive of {g.Class}" };
                string picture = g.Thumbnail is { } jpeg && folder is not null
                    ? $"![row {g.Row}]({Asset(Inv($"image-{g.Row}-{(int)g.Section}.jpg"), jpeg)})"
                    : g.Path is null ? $"row {g.Row}" : Path.GetFileName(g.Path);
                string model = string.Join(", ", g.Labels.Select(l => (l.Outcome switch { LabelOutcome.TruePositive => "✓ ", LabelOutcome.FalsePositive => "✗ ", _ => "○ " }) + Inv($"{l.Name} ({l.Score:F2})")));
                md.AppendLine($"| {Cell(section)} | {picture} | {Cell(string.Join(", ", g.TrueLabels))} | {Cell(model)} |");
            }
        }
        md.AppendLine().AppendLine("## Decisions").AppendLine();
        md.AppendLine("| rule | CP | CR | CF1 | mean class F1 | OP | OR | OF1 |").AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (DecisionMetrics d in new[] { metrics.AtThreshold, metrics.TopK })
        {
            md.AppendLine($"| {d.Rule} | {Pct(d.CP)} | {Pct(d.CR)} | {Pct(d.CF1)} | {Pct(d.MeanClassF1)} | {Pct(d.OP)} | {Pct(d.OR)} | {Pct(d.OF1)} |");
        }
        md.AppendLine();
        md.Append(Chart("precision-recall.svg", ReportPlots.PrecisionRecall(metrics), "precision-recall curves"));
        if (metrics.ThresholdSweep.Count > 0)
        {
            md.Append(Chart("threshold-sweep.svg", ReportPlots.ThresholdSweep(metrics), "threshold sweep"));
        }
        md.Append(Chart("ap-by-positives.svg", ReportPlots.ApByPositives(metrics), "AP against positives"));
        if (report.Labels is { } labels)
        {
            md.AppendLine("## Labels").AppendLine();
            md.AppendLine("| labels per image | images (true) | images (predicted) |").AppendLine("|---:|---:|---:|");
            for (int k = 0; k < labels.TrueCardinality.Length; k++)
            {
                md.AppendLine(Inv($"| {k} | {labels.TrueCardinality[k]} | {(k < labels.PredictedCardinality.Length ? labels.PredictedCardinality[k] : 0)} |"));
            }
            md.AppendLine().AppendLine("Most frequent pairs of true labels:").AppendLine();
            md.AppendLine("| class | with | images | share of the first |").AppendLine("|---|---|---:|---:|");
            var pairs = new List<(string A, string B, long N, double Share)>();
            for (int i = 0; i < labels.ClassNames.Count; i++)
            {
                for (int j = i + 1; j < labels.ClassNames.Count; j++)
                {
                    pairs.Add((labels.ClassNames[i], labels.ClassNames[j], labels.CoOccurrence[i][j], (double)labels.CoOccurrence[i][j] / Math.Max(1, labels.CoOccurrence[i][i])));
                }
            }
            foreach ((string a, string b, long n, double share) in pairs.OrderByDescending(p => p.N).Take(15))
            {
                md.AppendLine(Inv($"| {Cell(a)} | {Cell(b)} | {n} | {100 * share:F1} |"));
            }
        }
        md.AppendLine().AppendLine("## Per class (sorted by AP)").AppendLine();
        md.AppendLine("| class | AP | AP (tie-aware) | precision | recall | F1 | positives | ignored |").AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (ClassMetrics c in SortedByAp(metrics))
        {
            md.AppendLine($"| {Cell(c.Name)}{(c.HasPositives ? "" : " (no positives)")} | {Pct(c.AveragePrecision)} | {Pct(c.AveragePrecisionTieAware)} | {Pct(c.Precision)} | {Pct(c.Recall)} | {Pct(c.F1)} | {c.Positives} | {c.Ignored} |");
        }
        return md.ToString();
    }

    private static string Opt(double? fraction) => fraction is double f ? Pct(f) : "-";

    private static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal);
}
