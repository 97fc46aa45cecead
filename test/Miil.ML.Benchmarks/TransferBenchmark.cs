using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Miil.ML.Datasets;
using Miil.ML.TorchSharp.Hub;
using Miil.ML.Testing;
using Miil.ML.TorchSharp;
using Miil.ML.TorchSharp.Models.TResNet;
using Miil.ML.TorchSharp.Training;

namespace Miil.ML.Benchmarks;

/// <summary>
/// <c>train transfer</c>: does starting from pretrained weights pay, here, without the internet? A small
/// TResNet is pretrained on one built-in task, saved in timm's layout, published through a hub on
/// 127.0.0.1 and fine-tuned by name on another task (more classes, other images, few of them); the same
/// network trained from scratch with the same budget is the comparison.
/// </summary>
internal static class TransferBenchmark
{
    private sealed class Row
    {
        [LoadColumn(0)]
        public string ImagePath { get; set; } = "";

        [LoadColumn(1)]
        public string Labels { get; set; } = "";
    }

    private static readonly TResNetArchitecture Network = TResNetArchitecture.Custom([1, 1, 1, 1], 0.5);

    public static int Run(string folder)
    {
        const int seed = 7;
        (MLContext ml, IDataView trainA, _) = Task(folder, "a", classes: 12, train: 2400, test: 1, dataSeed: 1);
        (MLContext mlB, IDataView trainB, IDataView testB) = Task(folder, "b", classes: 24, train: 400, test: 400, dataSeed: 2);
        Console.WriteLine($"# Transfer, {DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} cores, CPU");
        Console.WriteLine("TResNet [1,1,1,1] x0.5 at 64 px. Task A: 12 built-in classes, 2,400 images, 10 epochs. Task B: 24 classes (12 unseen in A), other images: "
            + $"400 to train, 400 held out; 8 epochs, batch 32, peak rate 2e-3, flip only, seed {seed}, per-class thresholds not tuned (mAP is threshold-free).");
        using var hub = new LoopbackHub();
        string cache = Path.Combine(folder, "hub-cache");
        var clock = Stopwatch.StartNew();
        using (TResNetAslTransformer pretrained = ml.MultiLabel().TResNetAsl(Options(Path.Combine(folder, "a"), 10, seed)).Fit(trainA))
        {
            string timm = Path.Combine(folder, "model.safetensors");
            TResNetCheckpoint.SaveTimm((TResNet)pretrained.Network, timm);
            hub.Publish("bench/shapes-a", "main", ("model.safetensors", File.ReadAllBytes(timm)));
        }
        Console.WriteLine($"Pretraining on A: {clock.Elapsed.TotalSeconds:F0} s; published as hf-hub:bench/shapes-a on {hub.Endpoint}.");
        Console.WriteLine("| start | recipe | held-out mAP on B | seconds |");
        Console.WriteLine("|---|---|---:|---:|");
        foreach ((string start, string? weights, int freeze, double bodyRate) in new (string, string?, int, double)[]
        {
            ("from scratch", null, 0, 1.0),
            ("pretrained on A (by name, through the hub)", "hf-hub:bench/shapes-a", 0, 1.0),
            ("pretrained on A (by name, through the hub)", "hf-hub:bench/shapes-a", 1, 0.5),
        })
        {
            TResNetAslOptions options = Options(Path.Combine(folder, "b"), 8, seed);
            options.PretrainedWeights = weights;
            options.Hub = new HubOptions { Endpoint = hub.Endpoint, CacheDirectory = cache };
            options.FreezeBodyEpochs = freeze;
            options.BodyLearningRateFactor = bodyRate;
            clock.Restart();
            using TResNetAslTransformer model = mlB.MultiLabel().TResNetAsl(options).Fit(trainB);
            double map = mlB.MultiLabel().Evaluate(model.Transform(testB)).MeanAveragePrecision;
            string recipe = freeze == 0 && bodyRate == 1.0 ? "all layers from the first step" : $"head alone for {freeze} epoch, body rate x{bodyRate}";
            Console.WriteLine($"| {start} | {recipe} | {100 * map:F2}% | {clock.Elapsed.TotalSeconds:F0} |");
        }
        return 0;
    }

    private static (MLContext, IDataView, IDataView) Task(string root, string name, int classes, int train, int test, int dataSeed)
    {
        string folder = Path.Combine(root, name);
        string manifest = SyntheticShapes.Write(new SyntheticShapesOptions { Count = train + test, ClassCount = classes, ImageSize = 64, Seed = dataSeed }, folder);
        var ml = new MLContext(seed: 0);
        IDataView all = ml.Data.LoadFromTextFile<Row>(manifest, separatorChar: ',', hasHeader: true, allowQuoting: true);
        ITransformer mapper = ml.MultiLabel().MapLabels("Label", "Labels", classes: SyntheticShapes.ClassNames(classes)).Fit(all);
        return (ml, mapper.Transform(ml.Data.TakeRows(all, train)), mapper.Transform(ml.Data.SkipRows(all, train)));
    }

    private static TResNetAslOptions Options(string folder, int epochs, int seed) => new()
    {
        ImageColumnName = "ImagePath",
        ImageFolder = folder,
        Architecture = Network,
        ImageSize = 64,
        Epochs = epochs,
        BatchSize = 32,
        LearningRate = 2e-3f,
        EmaDecay = null,
        Augmentation = new AugmentationOptions { HorizontalFlipProbability = 0.5, CutoutFactor = 0, RandAugmentOperations = 0 },
        Seed = seed,
    };
}
