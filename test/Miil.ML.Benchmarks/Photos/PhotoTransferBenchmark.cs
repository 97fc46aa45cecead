using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Miil.ML.Evaluation;
using Miil.ML.TorchSharp;
using Miil.ML.TorchSharp.Models;
using Miil.ML.TorchSharp.Models.ResNet;
using Miil.ML.TorchSharp.Models.TResNet;
using Miil.ML.TorchSharp.Training;

namespace Miil.ML.Benchmarks.Photos;

/// <summary>
/// <c>photos DATA [WORK] [--only NAME,...] [--epochs N] [--size PX] [--precision float32|bfloat16]</c>:
/// transfer learning on real photographs (<see cref="PhotoComposites"/>, data from
/// build/photo-data/fetch.sh), the way an ML.NET user would meet it. The stock ML.NET answer is the
/// anchor: <c>DnnFeaturizeImage</c> with ML.NET's ImageNet ResNet18, then one L-BFGS logistic regression
/// per class on the 512 features. Against it, in the same run: that same ResNet18 (its weights read
/// from the ONNX file in the NuGet package) fine-tuned end to end with ASL, the same network from
/// scratch, and TResNet from scratch; held-out mAP and wall time of each (training and scoring).
/// </summary>
internal static class PhotoTransferBenchmark
{
    private const int TrainImages = 1600, ValidationImages = 240, TestImages = 640, CompositeSize = 160, Seed = 0;

    private sealed class Row
    {
        [LoadColumn(0)]
        public string ImagePath { get; set; } = "";

        [LoadColumn(1)]
        public string Labels { get; set; } = "";
    }

    private sealed class FeatureRow
    {
        [VectorType(512)]
        public float[] Features { get; set; } = [];

        public bool Label { get; set; }
    }

    public static int Run(string[] args)
    {
        if (args.Length < 1)
        {
            Console.Error.WriteLine("usage: photos DATA [WORK] [--only anchor,finetune,resnet-scratch,tresnet-scratch] [--epochs N] [--size PX] [--precision float32|bfloat16]");
            return 2;
        }
        string data = args[0];
        string work = args.Length > 1 && !args[1].StartsWith("--", StringComparison.Ordinal) ? args[1] : Path.Combine(Path.GetTempPath(), "miil-photos");
        string? only = Option(args, "--only");
        int epochs = int.Parse(Option(args, "--epochs") ?? "12", CultureInfo.InvariantCulture);
        int size = int.Parse(Option(args, "--size") ?? "160", CultureInfo.InvariantCulture);
        float? rate = Option(args, "--rate") is string r ? float.Parse(r, CultureInfo.InvariantCulture) : null;
        int freeze = int.Parse(Option(args, "--freeze") ?? "0", CultureInfo.InvariantCulture);
        double bodyFactor = double.Parse(Option(args, "--body-factor") ?? "1", CultureInfo.InvariantCulture);
        TrainingPrecision precision = Option(args, "--precision") == "bfloat16" ? TrainingPrecision.BFloat16 : TrainingPrecision.Float32;
        bool Runs(string name) => only is null || only.Split(',').Contains(name);

        IReadOnlyList<string> classes = PhotoComposites.ClassNames(data);
        string trainManifest = Path.Combine(work, "train.tsv"), testManifest = Path.Combine(work, "test.tsv");
        var clock = Stopwatch.StartNew();
        if (!File.Exists(trainManifest) || !File.Exists(testManifest))
        {
            (trainManifest, testManifest) = PhotoComposites.Write(data, work, TrainImages + ValidationImages, TestImages, CompositeSize, Seed);
            Console.WriteLine($"Wrote {TrainImages + ValidationImages} + {TestImages} composites to {work} in {clock.Elapsed.TotalSeconds:F0} s.");
        }

        var ml = new MLContext(seed: Seed);
        IDataView all = ml.Data.LoadFromTextFile<Row>(trainManifest, separatorChar: '\t', hasHeader: true);
        IDataView train = ml.Data.TakeRows(all, TrainImages), validation = ml.Data.SkipRows(all, TrainImages);
        IDataView test = ml.Data.LoadFromTextFile<Row>(testManifest, separatorChar: '\t', hasHeader: true);
        ITransformer labels = ml.MultiLabel().MapLabels("Label", "Labels", separator: ';', classes: classes).Fit(all);

        Console.WriteLine($"# Transfer on real photographs, {DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} cores, CPU");
        Console.WriteLine($"{classes.Count} classes of real cut-outs on real photographs, {CompositeSize} px composites: {TrainImages} to train, {ValidationImages} to validate "
            + $"(training instances and backgrounds), {TestImages} held out (other instances, other backgrounds). Ours: {epochs} epochs at {size} px, batch 32, {precision}, seed {Seed}.");
        Console.WriteLine("| model | start | held-out mAP | training s | scoring s |");
        Console.WriteLine("|---|---|---:|---:|---:|");
        if (Runs("anchor"))
        {
            Anchor(ml, work, labels.Transform(train), labels.Transform(test), classes.Count);
        }
        (string Name, string Model, string Start, NetworkArchitecture? Architecture, string? Weights, float Rate)[] runs =
        [
            ("finetune", "ResNet18 (ML.NET's), ASL", "ImageNet (ML.NET's ONNX weights), fine-tuned", null, "resnet18-mlnet", 1e-3f),
            ("resnet-scratch", "ResNet18, ASL", "from scratch", ResNetArchitecture.ResNet18, null, 2e-3f),
            ("tresnet-scratch", "TResNet [2,2,2,2] x0.5, ASL", "from scratch", TResNetArchitecture.Custom([2, 2, 2, 2], 0.5), null, 2e-3f),
        ];
        foreach (var run in runs.Where(r => Runs(r.Name)))
        {
            var options = new TResNetAslOptions
            {
                ImageColumnName = "ImagePath",
                ImageFolder = work,
                Architecture = run.Architecture,
                PretrainedWeights = run.Weights,
                ImageSize = size,
                Epochs = epochs,
                BatchSize = 32,
                LearningRate = rate ?? run.Rate,
                FreezeBodyEpochs = run.Weights is null ? 0 : freeze,
                BodyLearningRateFactor = run.Weights is null ? 1 : bodyFactor,
                EmaDecay = 0.99,
                Precision = precision,
                ValidationSet = labels.Transform(validation),
                Seed = Seed,
            };
            var training = Stopwatch.StartNew();
            using TResNetAslTransformer model = ml.MultiLabel().TResNetAsl(options).Fit(labels.Transform(train));
            double trained = training.Elapsed.TotalSeconds;
            var scoring = Stopwatch.StartNew();
            MultiLabelMetrics metrics = ml.MultiLabel().Evaluate(model.Transform(labels.Transform(test)));
            Console.WriteLine($"| {run.Model} | {run.Start} | {100 * metrics.MeanAveragePrecision:F1} | {trained:F0} | {scoring.Elapsed.TotalSeconds:F0} |");
            Console.Error.WriteLine(string.Join(" ", model.History.Epochs.Select(e => $"[{e.Epoch}: loss {e.Loss:F3} val {100 * (e.ValidationMap ?? double.NaN):F1} {e.ImagesPerSecond:F0} img/s]")));
        }
        return 0;
    }

    /// <summary>
    /// The stock ML.NET answer: images to 224 px, pixels, <c>DnnFeaturizeImage</c> with ResNet18 (its
    /// preprocessing model and the network, ONNX Runtime), then per class an L-BFGS logistic regression
    /// with ML.NET's defaults on the pooled features; its probabilities are the scores.
    /// </summary>
    private static void Anchor(MLContext ml, string folder, IDataView train, IDataView test, int classCount)
    {
        var training = Stopwatch.StartNew();
        var featurizer = ml.Transforms.LoadImages("Image", folder, "ImagePath")
            .Append(ml.Transforms.ResizeImages("Image", 224, 224))
            .Append(ml.Transforms.ExtractPixels("Pixels", "Image"))
            .Append(ml.Transforms.DnnFeaturizeImage("Features", m => m.ModelSelector.ResNet18(ml, m.OutputColumn, m.InputColumn), "Pixels"));
        ITransformer features = featurizer.Fit(train);
        (float[][] trainFeatures, float[][] trainLabels) = Featurize(features, train);
        var classifiers = new ITransformer[classCount];
        for (int c = 0; c < classCount; c++)
        {
            IDataView rows = ml.Data.LoadFromEnumerable(trainFeatures.Select((f, i) => new FeatureRow { Features = f, Label = trainLabels[i][c] == 1 }));
            classifiers[c] = ml.BinaryClassification.Trainers.LbfgsLogisticRegression().Fit(rows);
        }
        double trained = training.Elapsed.TotalSeconds;

        var scoring = Stopwatch.StartNew();
        (float[][] testFeatures, float[][] testLabels) = Featurize(features, test);
        float[] scores = new float[testFeatures.Length * classCount];
        for (int c = 0; c < classCount; c++)
        {
            IDataView rows = ml.Data.LoadFromEnumerable(testFeatures.Select(f => new FeatureRow { Features = f }));
            float[] probabilities = classifiers[c].Transform(rows).GetColumn<float>("Probability").ToArray();
            for (int i = 0; i < probabilities.Length; i++)
            {
                scores[i * classCount + c] = probabilities[i];
            }
        }
        double scored = scoring.Elapsed.TotalSeconds;
        MultiLabelMetrics metrics = ml.MultiLabel().Evaluate(scores, testLabels.SelectMany(l => l).ToArray(), classCount);
        Console.WriteLine($"| ResNet18 (ML.NET's) features + logistic regression per class | ImageNet (DnnFeaturizeImage), frozen | {100 * metrics.MeanAveragePrecision:F1} | {trained:F0} | {scored:F0} |");
    }

    private static (float[][] Features, float[][] Labels) Featurize(ITransformer features, IDataView data)
    {
        IDataView featured = features.Transform(data);
        float[][] values = featured.GetColumn<VBuffer<float>>("Features").Select(v => v.DenseValues().ToArray()).ToArray();
        float[][] labels = featured.GetColumn<VBuffer<float>>("Label").Select(v => v.DenseValues().ToArray()).ToArray();
        return (values, labels);
    }

    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
