using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Miil.ML.Evaluation;
using Miil.ML.IO;

namespace Miil.ML.Reports;

/// <summary>
/// Renders <see cref="MultiLabelMetrics"/> as Markdown, JSON or a self-contained HTML page (summary,
/// decision metrics, precision-recall curves, threshold sweep, label frequencies, per-class table
/// sorted by AP). Markdown and HTML show percent; JSON keeps the API's fractions.
/// </summary>
public static class MultiLabelReport
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>
    /// Writes the report to <paramref name="path"/> in the format its extension names (.html/.htm,
    /// .md, .json), through a temporary file and a rename.
    /// </summary>
    /// <exception cref="ArgumentException">The extension is none of those.</exception>
    public static void SaveReport(this MultiLabelMetrics metrics, string path, string title = "Multi-label evaluation")
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentException.ThrowIfNullOrEmpty(path);
        string text = Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".html" or ".htm" => ToHtml(metrics, title),
            ".md" => ToMarkdown(metrics, title),
            ".json" => ToJson(metrics),
            var other => throw new ArgumentException($"Cannot tell the report format from '{other}' in '{path}': use .html, .md or .json.", nameof(path)),
        };
        AtomicFile.Write(path, stream => stream.Write(Encoding.UTF8.GetBytes(text)));
    }

    /// <summary>The metrics as indented JSON (fractions, camelCase names, curves and sweep included).</summary>
    public static string ToJson(MultiLabelMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        return JsonSerializer.Serialize(metrics, JsonOptions);
    }

    /// <summary>The metrics as Markdown tables (percent).</summary>
    public static string ToMarkdown(MultiLabelMetrics metrics, string title = "Multi-label evaluation")
    {
        ArgumentNullException.ThrowIfNull(metrics);
        var md = new StringBuilder();
        md.AppendLine($"# {title}").AppendLine();
        md.AppendLine(Inv($"{metrics.SampleCount} samples, {metrics.ClassCount} classes, label cardinality {metrics.LabelCardinality:F2}, density {Pct(metrics.LabelDensity)} %. Values in percent.")).AppendLine();
        md.AppendLine("| metric | value |").AppendLine("|---|---:|");
        foreach ((string name, string value) in Summary(metrics))
        {
            md.AppendLine($"| {name} | {value} |");
        }
        md.AppendLine().AppendLine("## Decisions").AppendLine();
        md.AppendLine("| rule | CP | CR | CF1 | mean class F1 | OP | OR | OF1 |").AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (DecisionMetrics d in new[] { metrics.AtThreshold, metrics.TopK })
        {
            md.AppendLine($"| {d.Rule} | {Pct(d.CP)} | {Pct(d.CR)} | {Pct(d.CF1)} | {Pct(d.MeanClassF1)} | {Pct(d.OP)} | {Pct(d.OR)} | {Pct(d.OF1)} |");
        }
        md.AppendLine().AppendLine("## Per class (sorted by AP)").AppendLine();
        md.AppendLine("| class | AP | AP (tie-aware) | precision | recall | F1 | positives | ignored |").AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (ClassMetrics c in SortedByAp(metrics))
        {
            md.AppendLine($"| {c.Name.Replace("|", "\\|")}{(c.HasPositives ? "" : " (no positives)")} | {Pct(c.AveragePrecision)} | {Pct(c.AveragePrecisionTieAware)} | {Pct(c.Precision)} | {Pct(c.Recall)} | {Pct(c.F1)} | {c.Positives} | {c.Ignored} |");
        }
        return md.ToString();
    }

    /// <summary>A self-contained HTML page: inline CSS and SVG charts, no script, nothing fetched.</summary>
    public static string ToHtml(MultiLabelMetrics metrics, string title = "Multi-label evaluation")
    {
        ArgumentNullException.ThrowIfNull(metrics);
        string E(string s) => WebUtility.HtmlEncode(s);
        var html = new StringBuilder();
        html.AppendLine("<!DOCTYPE html>").AppendLine("<html lang=\"en\"><head><meta charset=\"utf-8\">");
        html.AppendLine($"<title>{E(title)}</title>");
        html.AppendLine("<style>body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}" +
                        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px}" +
                        "td.n,th.n{text-align:right}tr:nth-child(even){background:#f6f6f6}.muted{color:#777}" +
                        "figure{margin:1.5em 0}</style></head><body>");
        html.AppendLine($"<h1>{E(title)}</h1>");
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

        html.AppendLine("<h2>Decisions</h2><table><tr><th>rule</th><th class=\"n\">CP</th><th class=\"n\">CR</th><th class=\"n\">CF1</th><th class=\"n\">mean class F1</th><th class=\"n\">OP</th><th class=\"n\">OR</th><th class=\"n\">OF1</th></tr>");
        foreach (DecisionMetrics d in new[] { metrics.AtThreshold, metrics.TopK })
        {
            html.AppendLine($"<tr><td>{E(d.Rule)}</td>{Cells(d.CP, d.CR, d.CF1, d.MeanClassF1, d.OP, d.OR, d.OF1)}</tr>");
        }
        html.AppendLine("</table><p class=\"muted\">C*: averaged over classes; O*: pooled over all decisions. CF1 is the harmonic mean of CP and CR; \"mean class F1\" averages per-class F1 (the ASL validation script's CF1).</p>");

        html.AppendLine("<h2>Precision-recall curves</h2><figure>").AppendLine(ReportPlots.PrecisionRecall(metrics));
        html.AppendLine($"<figcaption class=\"muted\">The {Math.Min(ReportPlots.MaxCurves, metrics.PerClass.Count(c => c.HasPositives))} most frequent classes.</figcaption></figure>");
        if (metrics.ThresholdSweep.Count > 0)
        {
            html.AppendLine("<h2>Threshold sweep</h2><figure>").AppendLine(ReportPlots.ThresholdSweep(metrics)).AppendLine("</figure>");
        }
        html.AppendLine("<h2>Label frequency</h2><figure>").AppendLine(ReportPlots.LabelFrequency(metrics)).AppendLine("</figure>");

        html.AppendLine("<h2>Per class, sorted by AP</h2><table><tr><th>class</th><th class=\"n\">AP</th><th class=\"n\">AP (tie-aware)</th><th class=\"n\">precision</th><th class=\"n\">recall</th><th class=\"n\">F1</th><th class=\"n\">positives</th><th class=\"n\">ignored</th></tr>");
        foreach (ClassMetrics c in SortedByAp(metrics))
        {
            string name = E(c.Name) + (c.HasPositives ? "" : " <span class=\"muted\">(no positives)</span>");
            html.AppendLine($"<tr><td>{name}</td>{Cells(c.AveragePrecision, c.AveragePrecisionTieAware, c.Precision, c.Recall, c.F1)}<td class=\"n\">{c.Positives}</td><td class=\"n\">{c.Ignored}</td></tr>");
        }
        html.AppendLine("</table>");
        html.AppendLine("<p class=\"muted\">AP: the reference definition (Alibaba-MIIL/ASL), ties in sample order. AP (tie-aware): scikit-learn's average precision. All values in percent.</p>");
        html.AppendLine("</body></html>");
        return html.ToString();
    }

    private static IEnumerable<(string, string)> Summary(MultiLabelMetrics m) =>
    [
        ("mAP (reference)", Pct(m.MeanAveragePrecision)),
        ("mAP (tie-aware)", Pct(m.MeanAveragePrecisionTieAware)),
        ("mAP (weighted by positives)", Pct(m.PositiveWeightedMeanAveragePrecision)),
        ($"OF1 ({m.AtThreshold.Rule})", Pct(m.AtThreshold.OF1)),
        ($"CF1 ({m.AtThreshold.Rule})", Pct(m.AtThreshold.CF1)),
        ($"OF1 ({m.TopK.Rule})", Pct(m.TopK.OF1)),
    ];

    private static IEnumerable<ClassMetrics> SortedByAp(MultiLabelMetrics m)
        => m.PerClass.OrderByDescending(c => c.AveragePrecision).ThenBy(c => c.Index);

    private static string Cells(params double[] values) => string.Concat(values.Select(v => $"<td class=\"n\">{Pct(v)}</td>"));

    private static string Pct(double fraction) => (100 * fraction).ToString("F2", CultureInfo.InvariantCulture);

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
