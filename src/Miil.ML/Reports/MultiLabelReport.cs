using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Miil.ML.Evaluation;
using Miil.ML.IO;

namespace Miil.ML.Reports;

/// <summary>
/// Renders <see cref="MultiLabelMetrics"/>, or a whole <see cref="MultiLabelReportContent"/> (training,
/// gallery, label statistics), as Markdown, JSON or a self-contained HTML page. Markdown and HTML show
/// percent; JSON keeps the API's fractions.
/// </summary>
public static class MultiLabelReport
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>
    /// Writes the report to <paramref name="path"/> in the format its extension names (.html/.htm,
    /// .md, .json), through a temporary file and a rename.
    /// </summary>
    /// <exception cref="ArgumentException">The extension is none of those.</exception>
    public static void SaveReport(this MultiLabelMetrics metrics, string path, string title = "Multi-label evaluation")
    {
        ArgumentNullException.ThrowIfNull(metrics);
        new MultiLabelReportContent { Metrics = metrics, Title = title }.SaveReport(path);
    }

    /// <summary>
    /// Writes the report (metrics, and the training, gallery and label sections it has) to
    /// <paramref name="path"/> in the format its extension names: a self-contained .html (charts as SVG,
    /// thumbnails as data URIs), .md (tables; charts and thumbnails written beside it in
    /// <c>&lt;name&gt;_files/</c> and linked), or .json (the same data for tools, thumbnails left out).
    /// Every file is written through a temporary file and a rename.
    /// </summary>
    /// <exception cref="ArgumentException">The extension is none of those.</exception>
    public static void SaveReport(this MultiLabelReportContent report, string path)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentException.ThrowIfNullOrEmpty(path);
        string extension = Path.GetExtension(path).ToLowerInvariant();
        string text = extension switch
        {
            ".html" or ".htm" => ToHtml(report),
            ".md" => ReportMarkdown.Write(report, path),
            ".json" => ToJson(report),
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

    /// <summary>The whole report as indented JSON (fractions, camelCase names; thumbnails left out, their rows and paths kept).</summary>
    public static string ToJson(MultiLabelReportContent report)
    {
        ArgumentNullException.ThrowIfNull(report);
        return JsonSerializer.Serialize(report, JsonOptions);
    }

    /// <summary>Reads a report written by <see cref="ToJson(MultiLabelReportContent)"/> (without thumbnails).</summary>
    /// <exception cref="JsonException">The text is not such a report.</exception>
    public static MultiLabelReportContent FromJson(string json)
        => JsonSerializer.Deserialize<MultiLabelReportContent>(json, JsonOptions) ?? throw new JsonException("The JSON holds no report.");

    /// <summary>The metrics as Markdown tables (percent).</summary>
    public static string ToMarkdown(MultiLabelMetrics metrics, string title = "Multi-label evaluation")
    {
        ArgumentNullException.ThrowIfNull(metrics);
        return ReportMarkdown.Write(new MultiLabelReportContent { Metrics = metrics, Title = title }, null);
    }

    /// <summary>A self-contained HTML page: inline CSS and SVG charts, no script, nothing fetched.</summary>
    public static string ToHtml(MultiLabelMetrics metrics, string title = "Multi-label evaluation")
    {
        ArgumentNullException.ThrowIfNull(metrics);
        return ToHtml(new MultiLabelReportContent { Metrics = metrics, Title = title });
    }

    /// <summary>The whole report as a self-contained HTML page (inline CSS, SVG charts, thumbnails as data URIs; no script, nothing fetched).</summary>
    public static string ToHtml(MultiLabelReportContent report)
    {
        ArgumentNullException.ThrowIfNull(report);
        return ReportHtml.Write(report);
    }

    internal static IEnumerable<(string, string)> Summary(MultiLabelMetrics m) =>
    [
        ("mAP (reference)", Pct(m.MeanAveragePrecision)),
        ("mAP (tie-aware)", Pct(m.MeanAveragePrecisionTieAware)),
        ("mAP (weighted by positives)", Pct(m.PositiveWeightedMeanAveragePrecision)),
        ($"OF1 ({m.AtThreshold.Rule})", Pct(m.AtThreshold.OF1)),
        ($"CF1 ({m.AtThreshold.Rule})", Pct(m.AtThreshold.CF1)),
        ($"OF1 ({m.TopK.Rule})", Pct(m.TopK.OF1)),
    ];

    internal static IEnumerable<ClassMetrics> SortedByAp(MultiLabelMetrics m)
        => m.PerClass.OrderByDescending(c => c.AveragePrecision).ThenBy(c => c.Index);

    internal static string Cells(params double[] values) => string.Concat(values.Select(v => $"<td class=\"n\">{Pct(v)}</td>"));

    internal static string Pct(double fraction) => (100 * fraction).ToString("F2", CultureInfo.InvariantCulture);

    internal static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
