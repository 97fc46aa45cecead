using System.Globalization;
using System.Text.Json;
using Miil.ML.Evaluation;
using Miil.ML.Reports;

namespace Miil.ML.Tests.Reports;

[TestClass]
public sealed class MultiLabelReportTests
{
    private static readonly string[] Names = ["cat", "dog", "traffic light", "a|b <c>", "empty"];

    private static MultiLabelMetrics Metrics()
    {
        var random = new Random(2);
        float[] labels = Enumerable.Range(0, 300 * 5).Select(i => i % 5 == 4 ? 0f : random.NextDouble() < 0.25 ? 1f : 0f).ToArray();
        float[] scores = labels.Select(y => (float)Math.Clamp(0.35 * y + random.NextDouble() * 0.65, 0, 1)).ToArray();
        return MultiLabelEvaluator.Evaluate(scores, labels, 5, Names);
    }

    [TestMethod]
    public void HtmlIsSelfContainedWithChartsTablesAndTheNumbers()
    {
        MultiLabelMetrics m = Metrics();
        string html = MultiLabelReport.ToHtml(m);
        Assert.AreEqual(4, CountOf(html, "<svg"), "PR curves, threshold sweep, label frequency, AP against positives");
        StringAssert.Contains(html, Pct(m.MeanAveragePrecision));
        StringAssert.Contains(html, Pct(m.AtThreshold.OF1));
        StringAssert.Contains(html, "traffic light");
        StringAssert.Contains(html, "a|b &lt;c&gt;", "names are escaped");
        StringAssert.Contains(html, "empty <span class=\"muted\">(no positives)</span>");
        Assert.DoesNotContain("<script", html);
        Assert.DoesNotContain("src=\"http", html);
        Assert.DoesNotContain("href=\"http", html);
        // Per-class table sorted by AP, best first.
        ClassMetrics best = m.PerClass.OrderByDescending(c => c.AveragePrecision).First();
        ClassMetrics worst = m.PerClass.OrderBy(c => c.AveragePrecision).First();
        Assert.IsLessThan(html.LastIndexOf(WebEncoded(worst.Name), StringComparison.Ordinal), html.LastIndexOf(WebEncoded(best.Name), StringComparison.Ordinal));
    }

    [TestMethod]
    public void MarkdownAndJsonHoldTheNumbers()
    {
        MultiLabelMetrics m = Metrics();
        string md = MultiLabelReport.ToMarkdown(m, "Run 7");
        StringAssert.StartsWith(md, "# Run 7");
        StringAssert.Contains(md, $"| mAP (reference) | {Pct(m.MeanAveragePrecision)} |");
        StringAssert.Contains(md, "a\\|b <c>", "pipes escaped in tables");
        Assert.AreEqual(5, md.Split('\n').Count(l => l.StartsWith("| ") && Names.Any(n => l.StartsWith("| " + n.Replace("|", "\\|")))));

        using JsonDocument json = JsonDocument.Parse(MultiLabelReport.ToJson(m));
        Assert.AreEqual(m.MeanAveragePrecision, json.RootElement.GetProperty("meanAveragePrecision").GetDouble());
        Assert.AreEqual(5, json.RootElement.GetProperty("perClass").GetArrayLength());
        Assert.AreEqual(m.PerClass[2].PrecisionRecallCurve.Count, json.RootElement.GetProperty("perClass")[2].GetProperty("precisionRecallCurve").GetArrayLength());
        Assert.AreEqual(19, json.RootElement.GetProperty("thresholdSweep").GetArrayLength());
    }

    [TestMethod]
    public void SaveReportPicksTheFormatByExtensionAndWritesAtomically()
    {
        MultiLabelMetrics m = Metrics();
        string directory = Directory.CreateTempSubdirectory("miil-report-").FullName;
        try
        {
            foreach (string name in new[] { "report.html", "report.md", "metrics.json" })
            {
                m.SaveReport(Path.Combine(directory, name));
            }
            StringAssert.StartsWith(File.ReadAllText(Path.Combine(directory, "report.html")), "<!DOCTYPE html>");
            StringAssert.StartsWith(File.ReadAllText(Path.Combine(directory, "report.md")), "# ");
            StringAssert.StartsWith(File.ReadAllText(Path.Combine(directory, "metrics.json")), "{");
            Assert.HasCount(3, Directory.GetFiles(directory), "no temporary files left");
            StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => m.SaveReport(Path.Combine(directory, "report.pdf"))).Message, ".pdf");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static string Pct(double fraction) => (100 * fraction).ToString("F2", CultureInfo.InvariantCulture);

    private static string WebEncoded(string s) => System.Net.WebUtility.HtmlEncode(s);

    private static int CountOf(string text, string what)
    {
        int count = 0;
        for (int at = text.IndexOf(what, StringComparison.Ordinal); at >= 0; at = text.IndexOf(what, at + 1, StringComparison.Ordinal))
        {
            count++;
        }
        return count;
    }
}
