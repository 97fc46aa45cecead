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
        var model = NewModel("Precision-recall curves", LegendPosition.BottomLeft, LegendPlacement.Inside);
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Bottom, Title = "Recall", Minimum = 0, Maximum = 1 });
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Left, Title = "Precision", Minimum = 0, Maximum = 1.02 });
        foreach (ClassMetrics c in CurveClasses(metrics))
        {
            var series = new LineSeries
            {
                Title = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{c.Name}: AP {100 * c.AveragePrecision:F1}"),
                StrokeThickness = 1.5,
            };
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
        var model = NewModel("Decision metrics by threshold", LegendPosition.RightTop, LegendPlacement.Outside);
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Bottom, Title = "Threshold (score > t)", Minimum = 0, Maximum = 1 });
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Left, Title = "%", Minimum = 0, Maximum = 100 });
        (string Name, Func<DecisionMetrics, double> Value)[] lines =
        [
            ("OP", d => d.OP), ("OR", d => d.OR), ("OF1", d => d.OF1), ("CP", d => d.CP), ("CR", d => d.CR), ("CF1", d => d.CF1),
        ];
        foreach ((string name, Func<DecisionMetrics, double> value) in lines)
        {
            // Pooled (O*) solid, class-averaged (C*) dashed: the palette alone pairs them too closely.
            var series = new LineSeries
            {
                Title = name,
                StrokeThickness = 1.5,
                MarkerType = MarkerType.Circle,
                MarkerSize = 2,
                LineStyle = name[0] == 'C' ? LineStyle.Dash : LineStyle.Solid,
            };
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
        var model = NewModel("Positives per class", LegendPosition.RightTop, LegendPlacement.Outside);
        var categories = new CategoryAxis { Position = AxisPosition.Left, IsZoomEnabled = false, GapWidth = 0.3 };
        var series = new BarSeries { FillColor = OxyColor.FromRgb(70, 110, 180), LabelPlacement = LabelPlacement.Outside, LabelFormatString = "{0}" };
        // Bars are drawn bottom-up: reverse so the most frequent class is on top.
        foreach (ClassMetrics c in Enumerable.Reverse(classes))
        {
            categories.Labels.Add(c.Name);
            series.Items.Add(new BarItem(c.Positives));
        }
        model.Axes.Add(categories);
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Bottom, Title = "Positive samples", Minimum = 0, Maximum = Math.Max(1, classes.Max(c => c.Positives)) * 1.15 });
        model.Series.Add(series);
        return Svg(model, 720, Math.Clamp(60 + 18 * classes.Count, 200, 2400));
    }

    private static PlotModel NewModel(string title, LegendPosition position, LegendPlacement placement)
    {
        var model = new PlotModel { Title = title, TitleFontSize = 14, DefaultFont = "Arial", DefaultFontSize = 11, Background = OxyColors.White };
        model.Legends.Add(new Legend
        {
            LegendPosition = position,
            LegendPlacement = placement,
            LegendFontSize = 11,
            LegendBackground = OxyColor.FromAColor(220, OxyColors.White),
        });
        return model;
    }

    private static string Svg(PlotModel model, double width, double height)
        => SvgExporter.ExportToString(model, width, height, isDocument: false, textMeasurer: new BrowserTextMeasurer(), useVerticalTextAlignmentWorkaround: false);
}
