// FineTune: a published TResNet fine-tuned with ASL on your own labelled images.
// weights by name (downloaded into the Hugging Face cache) -> split -> TResNetAsl (head alone first,
// then everything) -> held-out evaluation -> report.html, model.onnx, model.zip.
using Microsoft.ML;
using Miil.ML;
using Miil.ML.Evaluation;
using Miil.ML.Examples;
using Miil.ML.TorchSharp.Hub;
using Miil.ML.Reports;
using Miil.ML.TorchSharp;
using Miil.ML.TorchSharp.Models;
using Miil.ML.TorchSharp.Models.TResNet;
using Miil.ML.TorchSharp.Pretrained;
using Miil.ML.TorchSharp.Training;
using FineTune;

if (args.Contains("--help") || args.Contains("-h"))
{
    Console.WriteLine(FineTuneOptions.Usage);
    return 0;
}
FineTuneOptions o;
try
{
    o = FineTuneOptions.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

try
{
    var ml = new MLContext(seed: o.Seed);
    Directory.CreateDirectory(o.Output);
    IDataView all = o.Manifest is string manifest
        ? ml.MultiLabel().LoadManifest(manifest, new Miil.ML.Datasets.ManifestOptions { ImageFolder = o.ImageFolder })
        : ml.MultiLabel().LoadImageFolders(o.Folder!);
    // A seeded split into training, validation (selection, thresholds) and test (the final figure).
    var first = ml.Data.TrainTestSplit(all, o.TestFraction, seed: o.Seed);
    var second = ml.Data.TrainTestSplit(first.TrainSet, o.ValidationFraction / (1 - o.TestFraction), seed: o.Seed + 1);
    IDataView train = second.TrainSet, validation = second.TestSet, test = first.TestSet;

    PretrainedModel? entry = PretrainedModels.Find(o.Weights);
    NetworkArchitecture architecture = o.Architecture is string a ? NetworkArchitecture.FromName(a) : entry?.Architecture ?? TResNetArchitecture.M;
    int imageSize = o.ImageSize ?? entry?.ImageSize ?? 224;
    Console.WriteLine($"Fine-tuning {o.Weights} ({(entry is null ? "local or hub weights" : entry.TrainedOn + "; " + entry.License)}) as {architecture} at {imageSize} px.");

    var progress = new ConsoleProgress(o.Plain);
    TResNetAslTransformer model = progress.Run(() => ml.MultiLabel().TResNetAsl(new TResNetAslOptions
    {
        ImageColumnName = "ImagePath",
        Architecture = o.Architecture is string named ? NetworkArchitecture.FromName(named) : null,   // null: the weights' own
        PretrainedWeights = o.Weights,
        Hub = new HubOptions { Offline = o.Offline || new HubOptions().Offline },
        DownloadProgress = progress,
        ImageSize = imageSize,
        Epochs = o.Epochs,
        BatchSize = o.BatchSize,
        LearningRate = o.LearningRate,
        FreezeBodyEpochs = Math.Min(o.FreezeEpochs, o.Epochs),
        BodyLearningRateFactor = o.BodyLearningRateFactor,
        Precision = o.Precision,
        Head = o.Head,
        ValidationSet = validation,
        Thresholds = { Selection = ThresholdSelection.TunedPerClass },
        CheckpointDirectory = o.CheckpointDirectory,
        Seed = o.Seed,
        Progress = progress,
    }).Fit(train));
    using (model)
    {
        foreach (EpochSummary e in model.History.Epochs)
        {
            Console.WriteLine($"Epoch {e.Epoch}: loss {e.Loss:F4}, validation mAP {100 * (e.ValidationMap ?? double.NaN):F2}%, {e.ImagesPerSecond:F1} images/s");
        }
        IDataView scored = model.Transform(test);
        // The report evaluates as it reads the scores: one pass of the model over the test images.
        string report = Path.Combine(o.Output, "report.html");
        MultiLabelReportContent content = ml.MultiLabel()
            .BuildReport(scored, options: new ReportOptions { Title = $"FineTune: {o.Weights} on {o.Manifest ?? o.Folder} (held-out split)" })
            .WithTraining(model.History);
        content.SaveReport(report);
        MultiLabelMetrics metrics = content.Metrics;
        string onnx = Path.Combine(o.Output, "model.onnx");
        model.SaveOnnx(onnx);
        string zip = Path.Combine(o.Output, "model.zip");
        ml.Model.Save(model, test.Schema, zip + ".partial");   // then renamed: a failed save leaves the old zip whole
        File.Move(zip + ".partial", zip, overwrite: true);
        Console.WriteLine($"Wrote {report}, {onnx} and {zip}.");
        Console.WriteLine($"Held-out mAP: {100 * metrics.MeanAveragePrecision:F2}% on {metrics.PerClass.Count} classes");
    }
    return 0;
}
catch (Exception e) when (e is InvalidOperationException or ArgumentException or IOException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"FineTune stopped: {e.Message}");
    return 1;
}
