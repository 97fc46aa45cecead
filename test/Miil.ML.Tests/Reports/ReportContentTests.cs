using System.Text.RegularExpressions;
using Microsoft.ML;
using Microsoft.ML.Data;
using Miil.ML.Datasets;
using Miil.ML.Reports;
using Miil.ML.Testing;

namespace Miil.ML.Tests.Reports;

/// <summary>
/// A report built from a scored data view: training section, gallery (bounded, thumbnails embedded or
/// written beside), label statistics against counts made here, legends and colours, JSON round trip.
/// </summary>
[TestClass]
public sealed partial class ReportContentTests
{
    private const int Classes = 6;

    private sealed class Row
    {
        public string ImagePath { get; set; } = "";

        [VectorType(Classes)]
        public float[] Label { get; set; } = [];

        [VectorType(Classes)]
        public float[] Score { get; set; } = [];

        [VectorType(Classes)]
        public bool[] PredictedLabels { get; set; } = [];
    }

    private static (MLContext Ml, IDataView Data, Row[] Rows, string[] Names) Scored(ScratchDirectory scratch, int count = 40)
    {
        string manifest = SyntheticShapes.Write(new SyntheticShapesOptions { Count = count, ImageSize = 48, ClassCount = Classes, Seed = 3 }, scratch.Path);
        string[] names = [.. SyntheticShapes.ClassNames(Classes)];
        var random = new Random(5);
        Row[] rows = File.ReadAllLines(manifest).Skip(1).Select(l =>
        {
            string[] p = l.Split(',');
            float[] label = names.Select(n => p[1].Split(';').Contains(n) ? 1f : 0f).ToArray();
            float[] score = label.Select(y => (float)Math.Clamp(0.45 * y + random.NextDouble() * 0.55, 0, 1)).ToArray();
            return new Row { ImagePath = p[0], Label = label, Score = score, PredictedLabels = score.Select(s => s >= 0.5f).ToArray() };
        }).ToArray();
        var ml = new MLContext(seed: 0);
        SchemaDefinition schema = SchemaDefinition.Create(typeof(Row));
        var slots = new VBuffer<ReadOnlyMemory<char>>(Classes, names.Select(n => n.AsMemory()).ToArray());
        schema[nameof(Row.Label)].AddAnnotation("SlotNames", slots, new VectorDataViewType(TextDataViewType.Instance, Classes));
        return (ml, ml.Data.LoadFromEnumerable(rows, schema), rows, names);
    }

    private static TrainingHistory History() => new()
    {
        Epochs = [new EpochSummary(1, 1.5, 0.4, null, 120, LearningRate: 1e-3), new EpochSummary(2, 1.1, 0.55, 0.5, 130, LearningRate: 2e-3), new EpochSummary(3, 0.9, 0.52, 0.58, 128, LearningRate: 4e-4)],
        SelectedEpoch = 3,
        SelectedWeights = SelectedWeights.Ema,
        Options = [new("architecture", "TResNet-tiny"), new("precision", "BFloat16")],
    };

    [TestMethod]
    public void TheGalleryHoldsTheChosenImagesWithTheirOutcomesWithinTheBudget()
    {
        using var scratch = new ScratchDirectory();
        (MLContext ml, IDataView data, Row[] rows, string[] names) = Scored(scratch);
        var options = new ReportOptions { ImageFolder = scratch.Path, SampleImages = 8, WorstImages = 5, WorstClasses = 2, FalsePositivesPerClass = 3 };
        MultiLabelReportContent report = ml.MultiLabel().BuildReport(data, options: options);

        GalleryImage[] sample = report.Gallery.Where(g => g.Section == GallerySection.Sample).ToArray();
        Assert.HasCount(8, sample);
        CollectionAssert.AreEqual(Enumerable.Range(0, 8).Select(k => (long)(k * rows.Length / 8)).ToArray(), sample.Select(g => g.Row).ToArray(), "spread evenly");
        GalleryImage[] worst = report.Gallery.Where(g => g.Section == GallerySection.WorstImage).ToArray();
        Assert.HasCount(5, worst);
        double[] errors = rows.Select(r => r.Label.Zip(r.Score).Sum(p => (double)Math.Abs(p.First - p.Second))).ToArray();
        CollectionAssert.AreEqual(errors.Select((e, i) => (e, i)).OrderByDescending(x => x.e).Take(5).Select(x => (long)x.i).ToArray(), worst.Select(g => g.Row).ToArray(), "the largest errors, largest first");
        foreach (GalleryImage g in report.Gallery)
        {
            Row r = rows[g.Row];
            Assert.IsNotNull(g.Thumbnail, $"row {g.Row} has a picture");
            Assert.AreEqual(r.ImagePath, g.Path);
            CollectionAssert.AreEqual(names.Where((_, k) => r.Label[k] == 1).ToArray(), g.TrueLabels.ToArray());
            foreach (GalleryLabel l in g.Labels)
            {
                int k = Array.IndexOf(names, l.Name);
                LabelOutcome expected = r.Label[k] == 1 ? (r.PredictedLabels[k] ? LabelOutcome.TruePositive : LabelOutcome.Missed) : LabelOutcome.FalsePositive;
                Assert.AreEqual(expected, l.Outcome, $"row {g.Row} {l.Name}");
            }
        }
        foreach (GalleryImage g in report.Gallery.Where(g => g.Section == GallerySection.ClassFalsePositive))
        {
            int k = Array.IndexOf(names, g.Class);
            Assert.IsTrue(rows[g.Row].Label[k] == 0 && rows[g.Row].PredictedLabels[k], $"row {g.Row} is a false positive of {g.Class}");
        }

        // A budget: images past it are listed without a picture; the page stays bounded.
        long one = report.Gallery[0].Thumbnail!.Length;
        MultiLabelReportContent small = ml.MultiLabel().BuildReport(data, options: options with { MaxGalleryBytes = 3 * one });
        Assert.IsLessThanOrEqualTo(3 * one, small.Gallery.Sum(g => (long)(g.Thumbnail?.Length ?? 0)));
        Assert.IsTrue(small.Gallery.Any(g => g.Thumbnail is null));
        Assert.IsTrue(small.Gallery.All(g => g.Thumbnail is null || g.Thumbnail.Length <= 12_000), "thumbnails are small");
    }

    [TestMethod]
    public void LabelStatisticsCountWhatTheDataHolds()
    {
        using var scratch = new ScratchDirectory();
        (MLContext ml, IDataView data, Row[] rows, string[] names) = Scored(scratch);
        LabelStatistics labels = ml.MultiLabel().BuildReport(data, options: new ReportOptions { ImageColumnName = null }).Labels!;
        for (int a = 0; a < labels.ClassNames.Count; a++)
        {
            for (int b = 0; b < labels.ClassNames.Count; b++)
            {
                int i = Array.IndexOf(names, labels.ClassNames[a]), j = Array.IndexOf(names, labels.ClassNames[b]);
                Assert.AreEqual((long)rows.Count(r => r.Label[i] == 1 && r.Label[j] == 1), labels.CoOccurrence[a][b], $"{names[i]} with {names[j]}");
            }
        }
        for (int k = 0; k < labels.TrueCardinality.Length; k++)
        {
            Assert.AreEqual((long)rows.Count(r => r.Label.Count(v => v == 1) == k), labels.TrueCardinality[k], $"{k} labels");
            Assert.AreEqual((long)rows.Count(r => r.PredictedLabels.Count(v => v) == k), k < labels.PredictedCardinality.Length ? labels.PredictedCardinality[k] : 0);
        }
        Assert.AreEqual(rows.Length, labels.TrueCardinality.Sum());
        Assert.IsEmpty(ml.MultiLabel().BuildReport(data, options: new ReportOptions { ImageColumnName = null }).Gallery, "no image column, no gallery");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => ml.MultiLabel().BuildReport(data, scoreColumnName: "Scores")).Message, "'Scores'");
    }

    [TestMethod]
    public void TheHtmlPageShowsEverySectionWithLegendsAndHonestColours()
    {
        using var scratch = new ScratchDirectory();
        (MLContext ml, IDataView data, _, string[] names) = Scored(scratch);
        MultiLabelReportContent report = ml.MultiLabel().BuildReport(data, options: new ReportOptions { ImageFolder = scratch.Path, Title = "T" }).WithTraining(History());
        string html = MultiLabelReport.ToHtml(report);
        foreach (string section in new[] { "id=\"training\"", "id=\"gallery\"", "id=\"decisions\"", "id=\"curves\"", "id=\"sweep\"", "id=\"labels\"", "Co-occurrence of the true labels", "id=\"classes\"" })
        {
            StringAssert.Contains(html, section);
        }
        Assert.AreEqual(report.Gallery.Count(g => g.Thumbnail is not null), DataUri().Matches(html).Count, "every thumbnail embedded");
        Assert.IsGreaterThanOrEqualTo(8, report.Gallery.Count);
        StringAssert.Contains(html, "selected: epoch 3 (Ema)");
        StringAssert.Contains(html, "BFloat16");
        Assert.DoesNotContain("<script", html);
        Assert.DoesNotContain("src=\"http", html);

        // Ids are unique in the page and every reference finds its own chart's element: OxyPlot numbers
        // clip paths from 1 in each SVG, and a repeated id clipped later charts to an earlier one's area.
        string[] ids = Regex.Matches(html, "id=\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToArray();
        Assert.IsGreaterThanOrEqualTo(5, ids.Count(i => i.Contains("clipPath", StringComparison.Ordinal)), "the charts clip");
        CollectionAssert.AllItemsAreUnique(ids);
        foreach (Match reference in Regex.Matches(html, @"url\(#([^)]+)\)"))
        {
            CollectionAssert.Contains(ids, reference.Groups[1].Value);
        }

        // Each chart names its series (a legend, direct labels, or both).
        string sweep = Svg(html, "id=\"sweep\"");
        foreach (string line in new[] { "OP", "OR", "OF1", "CP", "CR", "CF1" })
        {
            Assert.IsGreaterThanOrEqualTo(2, Regex.Matches(sweep, $">{line}<").Count, $"{line}: in the legend and at its line's end");
        }
        string curves = Svg(html, "id=\"curves\"");
        foreach (string name in names)
        {
            StringAssert.Contains(curves, name + ": AP", "every curve in the legend");
        }
        // A class named after a colour is drawn in that colour.
        foreach (string name in names)
        {
            string? colour = name.Split(' ')[0] switch { "red" => "rgb(214,39,40)", "green" => "rgb(44,160,44)", "blue" => "rgb(31,119,180)", _ => null };
            if (colour is not null)
            {
                StringAssert.Contains(curves, $"stroke:{colour}", $"{name} is drawn {colour}");
            }
        }
    }

    [TestMethod]
    public void JsonRoundTripsAndMarkdownLinksWhatItWritesBeside()
    {
        using var scratch = new ScratchDirectory();
        (MLContext ml, IDataView data, _, _) = Scored(scratch);
        MultiLabelReportContent report = ml.MultiLabel().BuildReport(data, options: new ReportOptions { ImageFolder = scratch.Path }).WithTraining(History());
        MultiLabelReportContent back = MultiLabelReport.FromJson(MultiLabelReport.ToJson(report));
        Assert.AreEqual(report.Metrics.MeanAveragePrecision, back.Metrics.MeanAveragePrecision);
        CollectionAssert.AreEqual(report.Gallery.Select(g => (g.Row, g.Section, g.Path)).ToArray(), back.Gallery.Select(g => (g.Row, g.Section, g.Path)).ToArray());
        CollectionAssert.AreEqual(report.Labels!.TrueCardinality, back.Labels!.TrueCardinality);
        Assert.AreEqual(report.Training!.SelectedEpoch, back.Training!.SelectedEpoch);
        Assert.IsTrue(back.Gallery.All(g => g.Thumbnail is null), "thumbnails are not in the JSON");

        string md = scratch.File("out/report.md");
        report.SaveReport(md);
        string text = File.ReadAllText(md);
        MatchCollection links = Regex.Matches(text, @"!\[[^\]]*\]\(([^)]+)\)");
        Assert.IsGreaterThan(report.Gallery.Count, links.Count, "thumbnails and charts linked");
        foreach (Match link in links)
        {
            Assert.IsTrue(File.Exists(Path.Combine(scratch.File("out"), link.Groups[1].Value)), link.Groups[1].Value);
        }
        string svg = File.ReadAllText(Path.Combine(scratch.File("out"), "report_files", "training.svg"));
        Assert.AreEqual(1, Regex.Matches(svg, "xmlns=\"http://www.w3.org/2000/svg\"").Count, "a standalone SVG");
    }

    private static string Svg(string html, string anchor)
    {
        int at = html.IndexOf(anchor, StringComparison.Ordinal);
        int start = html.IndexOf("<svg", at, StringComparison.Ordinal);
        return html[start..(html.IndexOf("</svg>", start, StringComparison.Ordinal) + 6)];
    }

    [GeneratedRegex("src=\"data:image/jpeg;base64,[A-Za-z0-9+/=]+\"")]
    private static partial Regex DataUri();
}
