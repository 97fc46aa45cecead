using OxyPlot;
using OxyPlot.Axes;
using OxyPlot.Legends;
using OxyPlot.Series;
using Miil.ML.Evaluation;

namespace Miil.ML.Reports;

/// <summary>The report's charts, drawn by OxyPlot and exported as SVG (managed code, no native library).</summary>
internal static partial class ReportPlots
{
    /// <summary>Most classes drawn in the precision-recall chart (the most frequent ones).</summary>
    public const int MaxCurves = 10;

    public static string PrecisionRecall(MultiLabelMetrics metrics)
    {
        var model = NewModel("Precision-recall curves", LegendPosition.BottomLeft, LegendPlacement.Inside);
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Bottom, Title = "Recall", Minimum = 0, Maximum = 1 });
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Left, Title = "Precision", Minimum = 0, Maximum = 1.02 });
        List<ClassMetrics> curves = CurveClasses(metrics).ToList();
        IReadOnlyList<(OxyColor Colour, LineStyle Style)> looks = ReportPalette.For(curves.Select(c => c.Name).ToList());
        foreach ((ClassMetrics c, int i) in curves.Select((c, i) => (c, i)))
        {
            var series = new LineSeries
            {
                Title = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{c.Name}: AP {100 * c.AveragePrecision:F1}"),
                StrokeThickness = 1.5,
                Color = looks[i].Colour,
                LineStyle = looks[i].Style,
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
                // One colour per quantity (precision, recall, F1), the pooled and class-averaged versions sharing it.
                Color = OxyColor.Parse(name[1..] switch { "P" => "#1f77b4", "R" => "#ff7f0e", _ => "#2ca02c" }),
            };
            foreach (DecisionMetrics d in metrics.ThresholdSweep)
            {
                series.Points.Add(new DataPoint(d.Threshold ?? double.NaN, 100 * value(d)));
            }
            model.Series.Add(series);
            DirectLabel(model, series, name);
        }
        return Svg(model, 760, 400);
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

    /// <summary>Loss and validation mAP per epoch (raw and EMA), the selected epoch marked.</summary>
    public static string Training(TrainingHistory training)
    {
        var model = NewModel("Training", LegendPosition.RightMiddle, LegendPlacement.Outside);
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Bottom, Title = "Epoch", Minimum = 0.5, Maximum = training.Epochs.Count + 0.5, MajorStep = Math.Max(1, training.Epochs.Count / 10) });
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Left, Title = "Training loss", Key = "loss", Minimum = 0 });
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Right, Title = "Validation mAP (%)", Key = "map", Minimum = 0, Maximum = 100 });
        var loss = new LineSeries { Title = "training loss", YAxisKey = "loss", Color = OxyColor.Parse("#444444"), MarkerType = MarkerType.Circle, MarkerSize = 2.5, StrokeThickness = 1.5 };
        var raw = new LineSeries { Title = "validation mAP (raw)", YAxisKey = "map", Color = OxyColor.Parse("#1f77b4"), MarkerType = MarkerType.Square, MarkerSize = 2.5, StrokeThickness = 1.5 };
        var ema = new LineSeries { Title = "validation mAP (EMA)", YAxisKey = "map", Color = OxyColor.Parse("#ff7f0e"), LineStyle = LineStyle.Dash, MarkerType = MarkerType.Triangle, MarkerSize = 2.5, StrokeThickness = 1.5 };
        foreach (EpochSummary e in training.Epochs)
        {
            loss.Points.Add(new DataPoint(e.Epoch, e.Loss));
            if (e.ValidationMap is double v)
            {
                raw.Points.Add(new DataPoint(e.Epoch, 100 * v));
            }
            if (e.EmaValidationMap is double w)
            {
                ema.Points.Add(new DataPoint(e.Epoch, 100 * w));
            }
        }
        model.Series.Add(loss);
        foreach (LineSeries series in new[] { raw, ema }.Where(x => x.Points.Count > 0))
        {
            model.Series.Add(series);
        }
        if (training.SelectedEpoch > 0)
        {
            model.Annotations.Add(new OxyPlot.Annotations.LineAnnotation
            {
                Type = OxyPlot.Annotations.LineAnnotationType.Vertical,
                X = training.SelectedEpoch,
                Color = OxyColor.Parse("#2ca02c"),
                LineStyle = LineStyle.Dot,
                Text = $"selected: epoch {training.SelectedEpoch} ({training.SelectedWeights})",
                TextColor = OxyColor.Parse("#333333"),
            });
        }
        return Svg(model, 760, 380);
    }

    /// <summary>The learning rate at each epoch's end (the OneCycle schedule as it ran).</summary>
    public static string LearningRate(TrainingHistory training)
    {
        var model = NewModel("Learning rate (end of each epoch)", LegendPosition.RightTop, LegendPlacement.Inside);
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Bottom, Title = "Epoch", Minimum = 0.5, Maximum = training.Epochs.Count + 0.5 });
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Left, Title = "Learning rate", Minimum = 0, StringFormat = "0.0E0" });
        var series = new LineSeries { Title = "learning rate", Color = OxyColor.Parse("#444444"), MarkerType = MarkerType.Circle, MarkerSize = 2.5 };
        foreach (EpochSummary e in training.Epochs.Where(e => e.LearningRate is not null))
        {
            series.Points.Add(new DataPoint(e.Epoch, e.LearningRate!.Value));
        }
        model.Series.Add(series);
        return Svg(model, 760, 240);
    }

    /// <summary>Each class's AP against its number of positives (log scale when they span a decade), points labelled by class.</summary>
    public static string ApByPositives(MultiLabelMetrics metrics, int maxLabels = 40)
    {
        List<ClassMetrics> classes = metrics.PerClass.Where(c => c.HasPositives).ToList();
        var model = NewModel("AP against positives per class", LegendPosition.BottomRight, LegendPlacement.Inside);
        int most = classes.Count == 0 ? 1 : classes.Max(c => c.Positives), fewest = classes.Count == 0 ? 1 : classes.Min(c => c.Positives);
        model.Axes.Add(most >= 10 * Math.Max(1, fewest)
            ? new LogarithmicAxis { Position = AxisPosition.Bottom, Title = "Positive samples (log scale)", Minimum = Math.Max(1, fewest) * 0.8, Maximum = most * 1.25 }
            : new LinearAxis { Position = AxisPosition.Bottom, Title = "Positive samples", Minimum = 0, Maximum = most * 1.15 });
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Left, Title = "AP (%)", Minimum = 0, Maximum = 105 });
        var series = new ScatterSeries { Title = "one point per class", MarkerType = MarkerType.Circle, MarkerSize = 3.5, MarkerFill = OxyColor.Parse("#444444") };
        foreach (ClassMetrics c in classes)
        {
            series.Points.Add(new ScatterPoint(c.Positives, 100 * c.AveragePrecision));
        }
        model.Series.Add(series);
        // Labels for the extremes first (rarest and lowest-AP classes), up to maxLabels.
        foreach (ClassMetrics c in classes.OrderBy(c => c.AveragePrecision).ThenBy(c => c.Positives).Take(maxLabels))
        {
            model.Annotations.Add(new OxyPlot.Annotations.TextAnnotation
            {
                Text = c.Name,
                TextPosition = new DataPoint(c.Positives, 100 * c.AveragePrecision),
                TextHorizontalAlignment = HorizontalAlignment.Left,
                TextVerticalAlignment = VerticalAlignment.Bottom,
                Offset = new ScreenVector(5, -2),   // beside the marker, not under it
                FontSize = 9,
                Stroke = OxyColors.Transparent,
                TextColor = OxyColor.Parse("#333333"),
            });
        }
        return Svg(model, 760, 420);
    }

    /// <summary>Images by number of true and of predicted labels.</summary>
    public static string Cardinality(LabelStatistics labels)
    {
        var model = NewModel("Labels per image", LegendPosition.RightTop, LegendPlacement.Inside);
        var categories = new CategoryAxis { Position = AxisPosition.Left, Title = "labels", GapWidth = 0.4 };
        var truth = new BarSeries { Title = "true labels", FillColor = OxyColor.Parse("#555555") };
        var predicted = new BarSeries { Title = "predicted labels", FillColor = OxyColor.Parse("#a6bddb") };
        for (int k = labels.TrueCardinality.Length - 1; k >= 0; k--)
        {
            categories.Labels.Add(k.ToString(System.Globalization.CultureInfo.InvariantCulture));
            truth.Items.Add(new BarItem(labels.TrueCardinality[k]));
            predicted.Items.Add(new BarItem(k < labels.PredictedCardinality.Length ? labels.PredictedCardinality[k] : 0));
        }
        model.Axes.Add(categories);
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Bottom, Title = "Images", Minimum = 0 });
        model.Series.Add(truth);
        model.Series.Add(predicted);
        return Svg(model, 760, Math.Clamp(80 + 36 * labels.TrueCardinality.Length, 200, 900));
    }

    /// <summary>The series' name written at its last point, so that it reads without the legend.</summary>
    private static void DirectLabel(PlotModel model, LineSeries series, string text)
    {
        DataPoint last = series.Points.LastOrDefault(p => double.IsFinite(p.X) && double.IsFinite(p.Y));
        if (series.Points.Count == 0)
        {
            return;
        }
        model.Annotations.Add(new OxyPlot.Annotations.TextAnnotation
        {
            Text = text,
            TextPosition = last,
            TextHorizontalAlignment = HorizontalAlignment.Left,
            TextVerticalAlignment = VerticalAlignment.Middle,
            FontSize = 10,
            Stroke = OxyColors.Transparent,
            TextColor = series.Color.IsAutomatic() ? OxyColor.Parse("#333333") : series.Color,
            Offset = new ScreenVector(4, 0),
        });
    }

    private static PlotModel NewModel(string title, LegendPosition position, LegendPlacement placement)
    {
        var model = new PlotModel { Title = title, TitleFontSize = 14, DefaultFont = "Arial", DefaultFontSize = 11, Background = OxyColors.White, IsLegendVisible = true };
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
        => UniqueIds(SvgExporter.ExportToString(model, width, height, isDocument: false, textMeasurer: new BrowserTextMeasurer(), useVerticalTextAlignmentWorkaround: false));

    /// <summary>
    /// OxyPlot numbers its clip paths from 1 in every SVG (<c>id="clipPath1"</c>), and a page with several
    /// inline SVGs resolves <c>url(#clipPath1)</c> to the first one in the document: later charts were clipped
    /// to an earlier chart's plot area (a learning-rate line cut off two thirds along). Each chart's ids get
    /// a prefix from a digest of the chart itself, so they are unique in the page and the output stays
    /// deterministic.
    /// </summary>
    internal static string UniqueIds(string svg)
    {
        string prefix = "c" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(svg)))[..10].ToLowerInvariant() + "-";
        return ClipPathReference().Replace(svg, m => m.Groups[1].Value + prefix + m.Groups[2].Value);
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"(id=""|url\(#)(clipPath\d+)")]
    private static partial System.Text.RegularExpressions.Regex ClipPathReference();
}
