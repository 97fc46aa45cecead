using System.Globalization;
using System.Net;
using System.Text;
using Miil.ML.Evaluation;
using static Miil.ML.Reports.MultiLabelReport;

namespace Miil.ML.Reports;

/// <summary>The report as one self-contained HTML page: the sections the content has, in reading order.</summary>
internal static class ReportHtml
{
    private const string Style = "body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1150px}"
        + "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px}"
        + "td.n,th.n{text-align:right}tr:nth-child(even){background:#f6f6f6}.muted{color:#777}figure{margin:1.5em 0}"
        + ".gallery{display:grid;grid-template-columns:repeat(auto-fill,minmax(210px,1fr));gap:12px;margin:1em 0}"
        + ".card{border:1px solid #ccc;border-radius:4px;padding:8px;background:#fff}.card img{display:block;margin:0 auto 6px;image-rendering:auto}"
        + ".card ul{list-style:none;padding:0;margin:4px 0;font-size:0.9em}.card .file{font-size:0.8em;color:#777;word-break:break-all}"
        + ".tp::before{content:'\\2713  ';font-weight:bold}.fp{text-decoration:line-through}.fp::before{content:'\\2717  ';font-weight:bold}"
        + ".miss{font-style:italic}.miss::before{content:'\\25CB  ';font-weight:bold}"
        + "table.heat td{width:2.2em;text-align:center;font-size:0.75em;padding:2px}table.heat th{font-size:0.75em;padding:2px 4px}"
        + "table.heat th.col{writing-mode:vertical-rl;transform:rotate(180deg);vertical-align:bottom}";

    public static string Write(MultiLabelReportContent report)
    {
        MultiLabelMetrics metrics = report.Metrics;
        var html = new StringBuilder();
        html.AppendLine("<!DOCTYPE html>").AppendLine("<html lang=\"en\"><head><meta charset=\"utf-8\">");
        html.AppendLine($"<title>{E(report.Title)}</title>");
        html.AppendLine($"<style>{Style}</style></head><body>");
        html.AppendLine($"<h1>{E(report.Title)}</h1>");
        html.AppendLine(Inv($"<p>{metrics.SampleCount:N0} samples, {metrics.ClassCount} classes, label cardinality {metrics.LabelCardinality:F2}, density {Pct(metrics.LabelDensity)} %. Values in percent.</p>"));
        html.AppendLine("<table><tr><th>metric</th><th class=\"n\">value</th></tr>");
        foreach ((string name, string value) in Summary(metrics))
        {
            html.AppendLine($"<tr><td>{E(name)}</td><td class=\"n\">{E(value)}</td></tr>");
        }
        html.AppendLine("</table>");
        if (metrics.ClassesWithoutPositives.Count > 0)
        {
            html.AppendLine($"<p class=\"muted\">Classes without positives (AP counted as 0): {E(string.Join(", ", metrics.ClassesWithoutPositives))}.</p>");
        }
        if (report.Training is { } training)
        {
            Training(html, training);
        }
        if (report.Gallery.Count > 0)
        {
            Gallery(html, report.Gallery);
        }
        Decisions(html, metrics);
        html.AppendLine("<h2 id=\"curves\">Precision-recall curves</h2><figure>").AppendLine(ReportPlots.PrecisionRecall(metrics));
        html.AppendLine($"<figcaption class=\"muted\">The {Math.Min(ReportPlots.MaxCurves, metrics.PerClass.Count(c => c.HasPositives))} most frequent classes. A class named after a colour is drawn in that colour; classes sharing a colour differ by line style.</figcaption></figure>");
        if (metrics.ThresholdSweep.Count > 0)
        {
            html.AppendLine("<h2 id=\"sweep\">Threshold sweep</h2><figure>").AppendLine(ReportPlots.ThresholdSweep(metrics));
            html.AppendLine("<figcaption class=\"muted\">Blue: precision, orange: recall, green: F1; solid: pooled over all decisions (O*), dashed: averaged over classes (C*). Each line is named at its right end.</figcaption></figure>");
        }
        html.AppendLine("<h2 id=\"labels\">Labels</h2><figure>").AppendLine(ReportPlots.LabelFrequency(metrics)).AppendLine("</figure>");
        html.AppendLine("<figure>").AppendLine(ReportPlots.ApByPositives(metrics));
        html.AppendLine("<figcaption class=\"muted\">Rare classes are where ASL's asymmetric focusing is meant to help: AP against the number of positives, the lowest-AP classes named.</figcaption></figure>");
        if (report.Labels is { } labels)
        {
            html.AppendLine("<figure>").AppendLine(ReportPlots.Cardinality(labels)).AppendLine("</figure>");
            CoOccurrence(html, labels);
        }
        PerClass(html, metrics);
        html.AppendLine("<p class=\"muted\">AP: the reference definition (Alibaba-MIIL/ASL), ties in sample order. AP (tie-aware): scikit-learn's average precision. All values in percent.</p>");
        html.AppendLine("</body></html>");
        return html.ToString();
    }

    private static void Training(StringBuilder html, TrainingHistory training)
    {
        html.AppendLine("<h2 id=\"training\">Training</h2><figure>").AppendLine(ReportPlots.Training(training)).AppendLine("</figure>");
        if (training.Epochs.Any(e => e.LearningRate is not null))
        {
            html.AppendLine("<figure>").AppendLine(ReportPlots.LearningRate(training)).AppendLine("</figure>");
        }
        html.AppendLine("<table><tr><th class=\"n\">epoch</th><th class=\"n\">loss</th><th class=\"n\">learning rate</th><th class=\"n\">validation mAP</th><th class=\"n\">EMA mAP</th><th class=\"n\">images/s</th></tr>");
        foreach (EpochSummary e in training.Epochs)
        {
            string mark = e.Epoch == training.SelectedEpoch ? $" <b>selected ({E(training.SelectedWeights.ToString())})</b>" : "";
            html.AppendLine(Inv($"<tr><td class=\"n\">{e.Epoch}{mark}</td><td class=\"n\">{e.Loss:F4}</td><td class=\"n\">{(e.LearningRate is double lr ? lr.ToString("0.00E0", CultureInfo.InvariantCulture) : "-")}</td>")
                + $"<td class=\"n\">{Opt(e.ValidationMap)}</td><td class=\"n\">{Opt(e.EmaValidationMap)}</td>" + Inv($"<td class=\"n\">{e.ImagesPerSecond:F1}</td></tr>"));
        }
        html.AppendLine("</table>");
        if (training.Options.Count > 0)
        {
            html.AppendLine("<table><tr><th>option</th><th>value</th></tr>");
            foreach ((string name, string value) in training.Options)
            {
                html.AppendLine($"<tr><td>{E(name)}</td><td>{E(value)}</td></tr>");
            }
            html.AppendLine("</table>");
        }
    }

    private static void Gallery(StringBuilder html, IReadOnlyList<GalleryImage> gallery)
    {
        html.AppendLine("<h2 id=\"gallery\">Gallery</h2>");
        html.AppendLine("<p class=\"muted\">Each image with its true labels and the model's: &#x2713; true positive, &#x2717; false positive (struck through), &#x25CB; missed (true but not predicted), with scores. Label names are plain text: no colour is painted on them.</p>");
        foreach (IGrouping<(GallerySection, string?), GalleryImage> group in gallery.GroupBy(g => (g.Section, g.Class)))
        {
            (GallerySection section, string? cls) = group.Key;
            string heading = section switch
            {
                GallerySection.Sample => "A sample of the images",
                GallerySection.WorstImage => "The worst images (largest sum of |label − score|)",
                _ => $"False positives of '{cls}', one of the lowest-AP classes",
            };
            html.AppendLine($"<h3>{E(heading)}</h3><div class=\"gallery\">");
            foreach (GalleryImage g in group)
            {
                html.Append("<div class=\"card\">");
                if (g.Thumbnail is { } jpeg)
                {
                    html.Append($"<img alt=\"row {g.Row}\" src=\"data:image/jpeg;base64,{Convert.ToBase64String(jpeg)}\">");
                }
                else
                {
                    html.Append("<p class=\"muted\">(no picture)</p>");
                }
                html.Append($"<div class=\"file\">{E(g.Path is null ? $"row {g.Row}" : Path.GetFileName(g.Path))}</div>");
                html.Append($"<div>true: {(g.TrueLabels.Count == 0 ? "<span class=\"muted\">none</span>" : E(string.Join(", ", g.TrueLabels)))}</div><ul>");
                foreach (GalleryLabel l in g.Labels)
                {
                    string css = l.Outcome switch { LabelOutcome.TruePositive => "tp", LabelOutcome.FalsePositive => "fp", _ => "miss" };
                    html.Append(Inv($"<li class=\"{css}\">{E(l.Name)} {l.Score:F2}</li>"));
                }
                html.AppendLine("</ul></div>");
            }
            html.AppendLine("</div>");
        }
    }

    private static void Decisions(StringBuilder html, MultiLabelMetrics metrics)
    {
        html.AppendLine("<h2 id=\"decisions\">Decisions</h2><table><tr><th>rule</th><th class=\"n\">CP</th><th class=\"n\">CR</th><th class=\"n\">CF1</th><th class=\"n\">mean class F1</th><th class=\"n\">OP</th><th class=\"n\">OR</th><th class=\"n\">OF1</th></tr>");
        foreach (DecisionMetrics d in new[] { metrics.AtThreshold, metrics.TopK })
        {
            html.AppendLine($"<tr><td>{E(d.Rule)}</td>{Cells(d.CP, d.CR, d.CF1, d.MeanClassF1, d.OP, d.OR, d.OF1)}</tr>");
        }
        html.AppendLine("</table><p class=\"muted\">C*: averaged over classes; O*: pooled over all decisions. CF1 is the harmonic mean of CP and CR; \"mean class F1\" averages per-class F1 (the ASL validation script's CF1).</p>");
    }

    private static void CoOccurrence(StringBuilder html, LabelStatistics labels)
    {
        int n = labels.ClassNames.Count;
        html.AppendLine("<h3>Co-occurrence of the true labels</h3>");
        html.AppendLine($"<p class=\"muted\">Row class i, column class j: the share of images with i that also have j (the diagonal: images with i). Shade: darker is more; numbers are counts. The {n} most frequent classes.</p>");
        html.Append("<table class=\"heat\"><tr><th></th>");
        foreach (string name in labels.ClassNames)
        {
            html.Append($"<th class=\"col\">{E(name)}</th>");
        }
        html.AppendLine("</tr>");
        for (int i = 0; i < n; i++)
        {
            long own = Math.Max(1, labels.CoOccurrence[i][i]);
            html.Append($"<tr><th>{E(labels.ClassNames[i])}</th>");
            for (int j = 0; j < n; j++)
            {
                double share = (double)labels.CoOccurrence[i][j] / own;
                int shade = (int)Math.Round(255 - 180 * Math.Clamp(share, 0, 1));
                string text = share > 0.55 ? "#fff" : "#222";
                html.Append(string.Create(CultureInfo.InvariantCulture,
                    $"<td style=\"background:rgb({shade},{shade},{Math.Min(255, shade + 30)});color:{text}\" title=\"{E(labels.ClassNames[i])} with {E(labels.ClassNames[j])}: {labels.CoOccurrence[i][j]} ({100 * share:F0}%)\">{labels.CoOccurrence[i][j]}</td>"));
            }
            html.AppendLine("</tr>");
        }
        html.AppendLine("</table>");
    }

    private static void PerClass(StringBuilder html, MultiLabelMetrics metrics)
    {
        html.AppendLine("<h2 id=\"classes\">Per class, sorted by AP</h2><table><tr><th>class</th><th class=\"n\">AP</th><th class=\"n\">AP (tie-aware)</th><th class=\"n\">precision</th><th class=\"n\">recall</th><th class=\"n\">F1</th><th class=\"n\">positives</th><th class=\"n\">ignored</th></tr>");
        foreach (ClassMetrics c in SortedByAp(metrics))
        {
            string name = E(c.Name) + (c.HasPositives ? "" : " <span class=\"muted\">(no positives)</span>");
            html.AppendLine($"<tr><td>{name}</td>{Cells(c.AveragePrecision, c.AveragePrecisionTieAware, c.Precision, c.Recall, c.F1)}<td class=\"n\">{c.Positives}</td><td class=\"n\">{c.Ignored}</td></tr>");
        }
        html.AppendLine("</table>");
    }

    private static string Opt(double? fraction) => fraction is double f ? Pct(f) : "-";

    private static string E(string s) => WebUtility.HtmlEncode(s);
}
