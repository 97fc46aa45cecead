using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Miil.ML.Datasets;
using Miil.ML.Evaluation;
using Miil.ML.TorchSharp;
using Miil.ML.TorchSharp.Losses;
using Miil.ML.TorchSharp.Models.TResNet;
using Miil.ML.TorchSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.Benchmarks;

/// <summary>
/// Training benchmarks on the built-in data: <c>train overhead</c> (Fit through the IDataView
/// pipeline vs a plain TorchSharp loop over pre-made tensors, same model, batch and steps),
/// <c>train memory</c> (peak RSS per epoch over a long run) and <c>train losses</c> (ASL vs focal vs
/// BCE, same seed and budget, held-out mAP); <c>train precision</c> and <c>train precision-accuracy</c>
/// compare float32 and bfloat16 training (<see cref="PrecisionBenchmark"/>).
/// </summary>
internal static class TrainingBenchmark
{
    private static readonly TResNetArchitecture Tiny = TResNetArchitecture.Custom([1, 1, 1, 1], 0.5);

    public static int Run(string[] args)
    {
        string mode = args.Length > 0 ? args[0] : "overhead";
        string folder = Directory.CreateTempSubdirectory("miil-bench-train-").FullName;
        try
        {
            return mode switch
            {
                "overhead" => Overhead(folder, args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : Environment.ProcessorCount),
                "memory" => Memory(folder, args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 30),
                "losses" => Losses(folder),
                "precision" => PrecisionBenchmark.Throughput(args[1..]),
                "precision-accuracy" => PrecisionBenchmark.Accuracy(folder),
                "transfer" => TransferBenchmark.Run(folder),
                _ => throw new ArgumentException($"Unknown mode '{mode}': overhead [decode workers], memory [epochs], losses, precision [--config M:224:16] [--rounds 3], precision-accuracy or transfer."),
            };
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private sealed class Row
    {
        [LoadColumn(0)]
        public string ImagePath { get; set; } = "";

        [LoadColumn(1)]
        public string Labels { get; set; } = "";
    }

    private static (MLContext Ml, IDataView Train, IDataView Test) Data(string folder, int train, int test)
    {
        string manifest = SyntheticShapes.Write(new SyntheticShapesOptions { Count = train + test, ClassCount = 12, ImageSize = 64, Seed = 0 }, folder);
        var ml = new MLContext(seed: 0);
        IDataView all = ml.Data.LoadFromTextFile<Row>(manifest, separatorChar: ',', hasHeader: true, allowQuoting: true);
        ITransformer mapper = ml.MultiLabel().MapLabels("Label", "Labels", classes: SyntheticShapes.ClassNames(12)).Fit(all);
        return (ml, mapper.Transform(ml.Data.TakeRows(all, train)), mapper.Transform(ml.Data.SkipRows(all, train)));
    }

    private static TResNetAslOptions Options(string folder, int epochs) => new()
    {
        ImageColumnName = "ImagePath",
        ImageFolder = folder,
        Architecture = Tiny,
        ImageSize = 64,
        Epochs = epochs,
        BatchSize = 32,
        LearningRate = 2e-3f,
        EmaDecay = null,
        Augmentation = AugmentationOptions.None,
        Seed = 1,
    };

    private static int Overhead(string folder, int workers)
    {
        (MLContext ml, IDataView train, _) = Data(folder, 1280, 1);
        const int epochs = 3;
        Console.WriteLine($"Fit vs plain loop: TResNet [1,1,1,1] x0.5, 64 px, batch 32, {epochs} epochs of 1280 images, no augmentation/EMA/validation ({Environment.ProcessorCount} cores, {workers} decode workers)");
        Console.WriteLine("| round | Fit (pipeline) img/s | plain loop img/s | pipeline / plain |");
        Console.WriteLine("|---|---|---|---|");
        // Round 0 warms the process up (JIT, first ONNX Runtime and ImageAnalytics use, allocator growth).
        for (int round = 0; round <= 3; round++)
        {
            double pipeline = FitThroughput(ml, train, folder, epochs, workers);
            double plain = PlainLoopThroughput(ml, train, folder, epochs);
            Console.WriteLine($"| {(round == 0 ? "0 (warm-up)" : round)} | {pipeline:F0} | {plain:F0} | {pipeline / plain:F3} |");
        }
        return 0;
    }

    /// <summary>Images per second of Fit's training epochs (decoding, batching, loss, optimiser; epoch 1 excluded as warm-up).</summary>
    private static double FitThroughput(MLContext ml, IDataView train, string folder, int epochs, int workers)
    {
        TResNetAslOptions options = Options(folder, epochs);
        options.DecodeWorkers = workers;
        using TResNetAslTransformer model = ml.MultiLabel().TResNetAsl(options).Fit(train);
        return model.History.Epochs.Skip(1).Average(h => h.ImagesPerSecond);
    }

    /// <summary>The same steps as a hand-written loop over tensors decoded once beforehand.</summary>
    private static double PlainLoopThroughput(MLContext ml, IDataView train, string folder, int epochs)
    {
        // Decode once with the same stock transforms the trainer uses.
        IDataView pixels = ml.Transforms.LoadImages("Image", folder, "ImagePath")
            .Append(ml.Transforms.ResizeImages("Resized", 64, 64, "Image", Microsoft.ML.Transforms.Image.ImageResizingEstimator.ResizingKind.Fill))
            .Append(ml.Transforms.ExtractPixels("Pixels", "Resized", interleavePixelColors: false, scaleImage: 1f / 255, outputAsFloatArray: true))
            .Fit(train).Transform(train);
        float[] x = pixels.GetColumn<VBuffer<float>>("Pixels").SelectMany(v => v.DenseValues()).ToArray();
        float[] y = pixels.GetColumn<VBuffer<float>>("Label").SelectMany(v => v.DenseValues()).ToArray();
        int n = y.Length / 12;
        using Tensor images = tensor(x, [n, 3, 64, 64]);
        using Tensor labels = tensor(y, [n, 12]);
        random.manual_seed(1);
        using var model = new TResNet(Tiny, 12);
        using var loss = new AsymmetricLoss();
        using optim.Optimizer adam = optim.Adam(model.parameters(), 2e-3);
        model.train();
        var seconds = new List<double>();
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            var clock = Stopwatch.StartNew();
            using Tensor order = randperm(n);
            for (int first = 0; first < n; first += 32)
            {
                using var scope = NewDisposeScope();
                Tensor index = order.narrow(0, first, Math.Min(32, n - first));
                adam.zero_grad();
                Tensor l = loss.forward(model.forward(images.index_select(0, index)), labels.index_select(0, index));
                l.backward();
                adam.step();
                _ = l.item<float>();
            }
            seconds.Add(clock.Elapsed.TotalSeconds);
        }
        return n / seconds.Skip(1).Average();
    }

    private static int Memory(string folder, int epochs)
    {
        (MLContext ml, IDataView train, IDataView test) = Data(folder, 640, 160);
        TResNetAslOptions options = Options(folder, epochs);
        options.EmaDecay = 0.99;
        options.Augmentation = new AugmentationOptions();
        options.ValidationSet = test;
        options.CheckpointDirectory = Path.Combine(folder, "checkpoints");
        var rows = new List<string>();
        options.Progress = new Recorder(p =>
        {
            if (p.Phase == TrainingPhase.Training && p.Step == 1)
            {
                PeakMemory.Reset();
            }
            else if (p.Phase == TrainingPhase.EpochCompleted)
            {
                rows.Add($"| {p.Epoch} | {PeakMemory.MiB():F0} | {GC.GetTotalMemory(false) / 1048576.0:F0} |");
            }
        });
        Console.WriteLine($"Peak RSS per epoch: TResNet [1,1,1,1] x0.5, 64 px, batch 32, 640 images, augmentation + EMA + validation + checkpoint every epoch, {epochs} epochs");
        using (ml.MultiLabel().TResNetAsl(options).Fit(train))
        {
        }
        Console.WriteLine("| epoch | peak RSS (MiB) | managed heap (MiB) |");
        Console.WriteLine("|---|---|---|");
        rows.ForEach(Console.WriteLine);
        return 0;
    }

    private static int Losses(string folder)
    {
        (MLContext ml, IDataView train, IDataView test) = Data(folder, 2400, 600);
        Console.WriteLine("ASL vs focal vs BCE: TResNet [1,1,1,1] x0.5, 64 px, batch 32, 10 epochs of 2400 images, flip only, seed 1; held-out mAP on 600 images");
        Console.WriteLine("| loss | (gamma-, gamma+, clip) | held-out mAP | seconds |");
        Console.WriteLine("|---|---|---|---|");
        foreach ((string name, AsymmetricLossOptions loss) in new[]
        {
            ("ASL", new AsymmetricLossOptions { GammaNeg = 4, GammaPos = 0, Clip = 0.05 }),
            ("focal", new AsymmetricLossOptions { GammaNeg = 2, GammaPos = 2, Clip = 0 }),
            ("BCE", new AsymmetricLossOptions { GammaNeg = 0, GammaPos = 0, Clip = 0 }),
        })
        {
            TResNetAslOptions options = Options(folder, 10);
            options.Loss = loss;
            options.Augmentation = new AugmentationOptions { HorizontalFlipProbability = 0.5, CutoutFactor = 0, RandAugmentOperations = 0 };
            var clock = Stopwatch.StartNew();
            using TResNetAslTransformer model = ml.MultiLabel().TResNetAsl(options).Fit(train);
            MultiLabelMetrics metrics = ml.MultiLabel().Evaluate(model.Transform(test));
            Console.WriteLine($"| {name} | ({loss.GammaNeg}, {loss.GammaPos}, {loss.Clip}) | {100 * metrics.MeanAveragePrecision:F2}% | {clock.Elapsed.TotalSeconds:F0} |");
        }
        return 0;
    }

    private sealed class Recorder(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
