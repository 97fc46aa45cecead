// QuickStart: the whole job on the built-in data, end to end.
// generate data -> MapLabels + TResNetAsl (train, validate, select) -> evaluate on a held-out split
// -> report.html, model.onnx, model.zip -> reload the zip and score a few held-out images.
using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Miil.ML;
using Miil.ML.Datasets;
using Miil.ML.Evaluation;
using Miil.ML.Labels;
using Miil.ML.Onnx;
using Miil.ML.Onnx.Scoring;
using Miil.ML.Reports;
using Miil.ML.TorchSharp;
using Miil.ML.TorchSharp.Models.TResNet;
using Miil.ML.TorchSharp.Training;
using Miil.ML.Examples;
using QuickStart;
using Spectre.Console;

if (args.Contains("--help") || args.Contains("-h"))
{
    Console.WriteLine(QuickStartOptions.Usage);
    return 0;
}
if (args.Contains("--doctor"))
{
    // Why training and scoring would (not) use the GPU here; exits non-zero when the parity check fails.
    Miil.ML.Onnx.Diagnostics.DoctorReport doctor = new MLContext().MultiLabel().Doctor();
    Console.WriteLine(doctor);
    return doctor.ParityPassed ? 0 : 1;
}
QuickStartOptions o;
try
{
    o = QuickStartOptions.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

try
{
    var clock = Stopwatch.StartNew();
    Directory.CreateDirectory(o.Output);
    string dataDirectory = Path.Combine(o.Output, "data");
    int total = o.TrainImages + o.ValidationImages + o.TestImages;
    Console.WriteLine($"Generating {total} synthetic images ({o.Classes} classes: coloured shapes, several per image) in {dataDirectory} ...");
    string manifest = SyntheticShapes.Write(new SyntheticShapesOptions { Count = total, ClassCount = o.Classes, ImageSize = Math.Max(64, o.ImageSize), Seed = o.Seed }, dataDirectory);

    var ml = new MLContext(seed: o.Seed);
    IDataView all = ml.Data.LoadFromTextFile<ImageRow>(manifest, separatorChar: ',', hasHeader: true, allowQuoting: true);
    IDataView train = ml.Data.TakeRows(all, o.TrainImages);
    IDataView validation = ml.Data.TakeRows(ml.Data.SkipRows(all, o.TrainImages), o.ValidationImages);
    IDataView test = ml.Data.SkipRows(all, o.TrainImages + o.ValidationImages);

    // One class list for every split, so that all of them share the label space.
    IReadOnlyList<string> classes = SyntheticShapes.ClassNames(o.Classes);
    MapLabelsEstimator labels = ml.MultiLabel().MapLabels("Label", "Labels", separator: ';', classes: classes);
    ITransformer labelMapper = labels.Fit(train);

    var progress = new ConsoleProgress(o.Plain);
    var trainer = ml.MultiLabel().TResNetAsl(new TResNetAslOptions
    {
        ImageColumnName = "ImagePath",
        ImageFolder = dataDirectory,
        // A small TResNet (one block per stage, half width) that trains in minutes on a laptop CPU.
        Architecture = TResNetArchitecture.Custom([1, 1, 1, 1], 0.5),
        ImageSize = o.ImageSize,
        Epochs = o.Epochs,
        BatchSize = o.BatchSize,
        // From scratch a small network wants a larger step than the reference's 1e-4 (which fine-tunes a pretrained one).
        LearningRate = o.LearningRate,
        // The average over a few hundred steps; the reference's 0.9997 suits tens of thousands.
        EmaDecay = 0.98,
        // Classes here are colour + shape: colour-changing RandAugment operations and Cutout would
        // rewrite or hide labels, so only a horizontal flip.
        Augmentation = new AugmentationOptions { HorizontalFlipProbability = 0.5, CutoutFactor = 0, RandAugmentOperations = 0 },
        ValidationSet = labelMapper.Transform(validation),
        // ASL shifts probabilities up (the paper's scripts use 0.7-0.8); thresholds tuned per class on validation.
        Thresholds = { Selection = ThresholdSelection.TunedPerClass },
        CheckpointDirectory = o.CheckpointDirectory,
        CheckpointEverySteps = o.CheckpointEverySteps,
        Precision = o.Precision,
        Head = o.Head,
        Seed = o.Seed,
        Progress = progress,
    });

    if (o.CheckpointDirectory is not null && File.Exists(Path.Combine(o.CheckpointDirectory, TResNetAslOptions.CheckpointFileName)))
    {
        Console.WriteLine($"Resuming from the checkpoint in {o.CheckpointDirectory}.");
    }
    TransformerChain<TResNetAslTransformer> model = progress.Run(() => labels.Append(trainer).Fit(train));
    TResNetAslTransformer network = model.LastTransformer;

    var epochs = new Table().AddColumns("Epoch", "Loss", "Validation mAP", "EMA mAP", "Images/s");
    foreach (EpochSummary e in network.History.Epochs)
    {
        epochs.AddRow($"{e.Epoch}", $"{e.Loss:F4}", Percent(e.ValidationMap), Percent(e.EmaValidationMap), $"{e.ImagesPerSecond:F0}");
    }
    AnsiConsole.Write(epochs);
    Console.WriteLine($"Selected: epoch {network.History.SelectedEpoch} ({network.History.SelectedWeights} weights), validation mAP {Percent(network.ValidationMetrics?.MeanAveragePrecision)}.");

    // Held-out evaluation through the fitted pipeline (labels mapped, images scored by ONNX Runtime).
    IDataView scored = model.Transform(test);
    // The report evaluates (the metrics are its first part) and shows the run, the held-out images with their
    // predictions, and the labels' statistics: one pass of the model over the test images for all of it.
    string report = Path.Combine(o.Output, "report.html");
    MultiLabelReportContent content = ml.MultiLabel()
        .BuildReport(scored, options: new ReportOptions { Title = "QuickStart: TResNet + ASL on synthetic shapes (held-out split)", ImageFolder = dataDirectory })
        .WithTraining(network.History);
    content.SaveReport(report);
    MultiLabelMetrics metrics = content.Metrics;
    string onnx = Path.Combine(o.Output, "model.onnx");
    network.SaveOnnx(onnx);
    // The scoring part only (images in, Score and PredictedLabels out): what an application loads.
    string zip = Path.Combine(o.Output, "model.zip");
    // Through a temporary file and a rename: a reader never sees half a zip, and a failed save leaves the old one.
    ml.Model.Save(network, test.Schema, zip + ".partial");
    File.Move(zip + ".partial", zip, overwrite: true);
    Console.WriteLine($"Wrote {report}, {onnx} and {zip}.");

    // Reload the saved model as an application would, and score a few held-out images.
    using (ImageScoringTransformer scorer = ml.MultiLabel().LoadModel(zip, new ImageScoringOptions { ImageColumnName = "ImagePath", ImageFolder = dataDirectory }))
    {
        var examples = new Table().AddColumns("Image", "True labels", "Predicted (score)");
        foreach (ScoredRow row in ml.Data.CreateEnumerable<ScoredRow>(scorer.Transform(ml.Data.TakeRows(test, 5)), reuseRowObject: false))
        {
            string predicted = string.Join(", ", Enumerable.Range(0, classes.Count).Where(k => row.PredictedLabels[k])
                .OrderByDescending(k => row.Score[k]).Select(k => $"{classes[k]} ({row.Score[k]:F2})"));
            examples.AddRow(Markup.Escape(row.ImagePath), Markup.Escape(row.Labels.Replace(";", ", ")), Markup.Escape(predicted.Length == 0 ? "(none)" : predicted));
        }
        AnsiConsole.Write(examples);
    }

    // The floor to beat: every image scored with the class frequencies of the training set (ties counted
    // as ties, so each class's AP is its prevalence in the held-out split).
    double baseline = FrequencyBaseline(ml, labelMapper.Transform(train), labelMapper.Transform(test), classes.Count);
    Console.WriteLine($"Done in {clock.Elapsed.TotalSeconds:F0} s ({network.Precision} training; peak memory {Process.GetCurrentProcess().PeakWorkingSet64 / 1048576} MiB).");
    Console.WriteLine($"Held-out mAP: {100 * metrics.MeanAveragePrecision:F2}% (label-frequency baseline: {100 * baseline:F2}%)");
    return 0;
}
catch (Exception e) when (e is InvalidOperationException or ArgumentException or IOException or UnauthorizedAccessException)
{
    // Bad options, a checkpoint of another run, unreadable files: say what and where, without a stack trace.
    Console.Error.WriteLine($"QuickStart stopped: {e.Message}");
    return 1;
}

static string Percent(double? value) => value is double v ? $"{100 * v:F2}%" : "-";

static double FrequencyBaseline(MLContext ml, IDataView train, IDataView test, int classCount)
{
    float[] frequency = new float[classCount];
    int rows = 0;
    foreach (LabelRow row in ml.Data.CreateEnumerable<LabelRow>(train, reuseRowObject: false))
    {
        for (int k = 0; k < classCount; k++)
        {
            frequency[k] += row.Label[k] == 1 ? 1 : 0;
        }
        rows++;
    }
    var scores = new List<float>();
    var truth = new List<float>();
    foreach (LabelRow row in ml.Data.CreateEnumerable<LabelRow>(test, reuseRowObject: false))
    {
        scores.AddRange(frequency.Select(f => f / rows));
        truth.AddRange(row.Label);
    }
    return ml.MultiLabel().Evaluate(scores.ToArray(), truth.ToArray(), classCount).MeanAveragePrecisionTieAware;
}

namespace QuickStart
{
    /// <summary>A row of the generated manifest.</summary>
    internal sealed class ImageRow
    {
        [LoadColumn(0)]
        public string ImagePath { get; set; } = "";

        [LoadColumn(1)]
        public string Labels { get; set; } = "";
    }

    /// <summary>Mapped labels.</summary>
    internal sealed class LabelRow
    {
        public float[] Label { get; set; } = [];
    }

    /// <summary>A scored row.</summary>
    internal sealed class ScoredRow
    {
        public string ImagePath { get; set; } = "";
        public string Labels { get; set; } = "";
        public float[] Score { get; set; } = [];
        public bool[] PredictedLabels { get; set; } = [];
    }
}
