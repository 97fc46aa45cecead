using OxyPlot;
using OxyPlot.Axes;
using OxyPlot.Legends;
using OxyPlot.Series;
using Miil.ML.Evaluation;

namespace Miil.ML.Reports;

/// <summary>The report's charts, drawn by OxyPlot and exported as SVG (managed code, no native library).</summary>
internal static class ReportPlots
{
    /// <summary>Most classes drawn in the precision-recall chart (the most frequent ones).</summary>
    public const int MaxCurves = 10;

    public static string PrecisionRecall(MultiLabelMetrics metrics)
    {
        var model = NewModel("Precision-recall curves");
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Bottom, Title = "Recall", Minimum = 0, Maximum = 1 });
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Left, Title = "Precision", Minimum = 0, Maximum = 1.02 });
        foreach (ClassMetrics c in CurveClasses(metrics))
        {
            var series = new LineSeries { Title = $"{c.Name} (AP {c.AveragePrecision:P1})", StrokeThickness = 1.5 };
            foreach (PrecisionRecallPoint p in c.PrecisionRecallCurve)
            {
                series.Points.Add(new DataPoint(p.Recall, p.Precision));
            }
            model.Series.Add(series);
        }
        return Svg(model, 720, 460);
    }

    /// <summary>The classes of the precision-recall chart: the most frequent, in order of frequency.</summary>
    public static IEnumerable<ClassMetrics> CurveClasses(MultiLabelMetrics metrics)
        => metrics.PerClass.Where(c => c.HasPositives).OrderByDescending(c => c.Positives).ThenBy(c => c.Index).Take(MaxCurves);

    public static string ThresholdSweep(MultiLabelMetrics metrics)
    {
        var model = NewModel("Decision metrics by threshold");
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Bottom, Title = "Threshold (score > t)", Minimum = 0, Maximum = 1 });
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Left, Title = "%", Minimum = 0, Maximum = 100 });
        (string Name, Func<DecisionMetrics, double> Value)[] lines =
        [
            ("OP", d => d.OP), ("OR", d => d.OR), ("OF1", d => d.OF1), ("CP", d => d.CP), ("CR", d => d.CR), ("CF1", d => d.CF1),
        ];
        foreach ((string name, Func<DecisionMetrics, double> value) in lines)
        {
            var series = new LineSeries { Title = name, StrokeThickness = 1.5, MarkerType = MarkerType.Circle, MarkerSize = 2 };
            foreach (DecisionMetrics d in metrics.ThresholdSweep)
            {
                series.Points.Add(new DataPoint(d.Threshold ?? double.NaN, 100 * value(d)));
            }
            model.Series.Add(series);
        }
        return Svg(model, 720, 400);
    }

    public static string LabelFrequency(MultiLabelMetrics metrics)
    {
        List<ClassMetrics> classes = metrics.PerClass.OrderByDescending(c => c.Positives).ThenBy(c => c.Index).ToList();
        var model = NewModel("Positives per class");
        var categories = new CategoryAxis { Position = AxisPosition.Left, IsZoomEnabled = false, GapWidth = 0.3 };
        var series = new BarSeries { FillColor = OxyColor.FromRgb(70, 110, 180), LabelPlacement = LabelPlacement.Outside, LabelFormatString = "{0}" };
        // Bars are drawn bottom-up: reverse so the most frequent class is on top.
        foreach (ClassMetrics c in Enumerable.Reverse(classes))
        {
            categories.Labels.Add(c.Name);
            series.Items.Add(new BarItem(c.Positives));
        }
        model.Axes.Add(categories);
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Bottom, Title = "Positive samples", Minimum = 0, MaximumPadding = 0.12 });
        model.Series.Add(series);
        return Svg(model, 720, Math.Clamp(60 + 18 * classes.Count, 200, 2400));
    }

    private static PlotModel NewModel(string title)
    {
        var model = new PlotModel { Title = title, TitleFontSize = 14, DefaultFontSize = 11, Background = OxyColors.White };
        model.Legends.Add(new Legend { LegendPosition = LegendPosition.RightTop, LegendPlacement = LegendPlacement.Outside, LegendFontSize = 10 });
        return model;
    }

    private static string Svg(PlotModel model, double width, double height)
        => SvgExporter.ExportToString(model, width, height, isDocument: false, textMeasurer: null, useVerticalTextAlignmentWorkaround: false);
}
