using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Miil.ML.Datasets;
using Miil.ML.Evaluation;
using Miil.ML.Onnx;
using Miil.ML.TorchSharp;
using Miil.ML.TorchSharp.Export;
using Miil.ML.TorchSharp.Models;
using Miil.ML.TorchSharp.Models.TResNet;
using Miil.ML.TorchSharp.Training;

namespace Miil.ML.Benchmarks;

/// <summary>
/// <c>heads</c>: the pooling head against ML-Decoder. <c>heads accuracy</c> trains the QuickStart's data
/// and options once with each head (held-out mAP, training images/s, scoring images/s of the exported
/// model); <c>heads inference [--size 224] [--batch 16] [--rounds 5]</c> exports TResNet-M with each head
/// (80 classes) and times ONNX Runtime on the CPU, alternating the two within each round, to give the
/// head's share of the inference time.
/// </summary>
internal static class HeadBenchmark
{
    public static int Run(string[] args)
    {
        string mode = args.Length > 0 ? args[0] : "inference";
        return mode switch
        {
            "accuracy" => Accuracy(),
            "inference" => Inference(args[1..]),
            _ => throw new ArgumentException($"Unknown mode '{mode}': accuracy or inference [--size 224] [--batch 16] [--rounds 5]."),
        };
    }

    private static int Accuracy()
    {
        string folder = Directory.CreateTempSubdirectory("miil-heads-").FullName;
        try
        {
            string manifest = QuickStartSetup.Write(folder);
            Console.WriteLine($"# Heads on the built-in data, {DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} cores");
            Console.WriteLine("QuickStart data and options (2,400 / 300 / 300 images, 12 classes, 15 epochs at 64 px, float32, seed 0), each head trained to the end");
            Console.WriteLine("| head | held-out mAP | validation mAP (selected) | training s | training img/s (last epoch) | scoring img/s (held-out) |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|");
            foreach (ClassifierHead head in new[] { ClassifierHead.Pooling, ClassifierHead.MLDecoder() })
            {
                QuickStartSetup set = QuickStartSetup.Read(folder, manifest);
                MLContext ml = set.Context;
                TResNetAslOptions options = set.Options();
                options.Head = head;
                var clock = Stopwatch.StartNew();
                using TResNetAslTransformer model = ml.MultiLabel().TResNetAsl(options).Fit(set.Train);
                double seconds = clock.Elapsed.TotalSeconds;
                var scoring = Stopwatch.StartNew();
                MultiLabelMetrics metrics = ml.MultiLabel().Evaluate(model.Transform(set.Test));
                double scored = QuickStartSetup.TestImages / scoring.Elapsed.TotalSeconds;
                Console.WriteLine($"| {head} | {100 * metrics.MeanAveragePrecision:F2}% | {100 * model.ValidationMetrics!.MeanAveragePrecision:F2}% | {seconds:F0} | {model.History.Epochs[^1].ImagesPerSecond:F0} | {scored:F0} |");
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
        return 0;
    }

    private static int Inference(string[] args)
    {
        int size = 224, batch = 16, rounds = 5, classes = 80;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--size": size = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--batch": batch = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--rounds": rounds = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                default: throw new ArgumentException($"Unknown argument '{args[i]}'.");
            }
        }
        Console.WriteLine($"# Head share of TResNet-M inference, {DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} cores, ONNX Runtime {Onnx.Diagnostics.CudaRequirements.OnnxRuntimeVersion} CPU");
        Console.WriteLine($"TResNet-M at {size} px, {classes} classes, batch {batch}; {rounds} rounds of 3 calls after a warm-up call, the heads alternated; best ms per call");
        var heads = new[] { ClassifierHead.Pooling, ClassifierHead.MLDecoder() };
        var sessions = new List<(ClassifierHead Head, InferenceSession Session, long HeadParameters)>();
        foreach (ClassifierHead head in heads)
        {
            using var network = new TResNet(TResNetArchitecture.M, classes, head: head);
            network.eval();
            long headParameters = network.named_parameters().Where(p => p.name.StartsWith("head.", StringComparison.Ordinal)).Sum(p => p.parameter.numel());
            byte[] onnx = OnnxExporter.Export(network, new OnnxExportOptions { ImageSize = size });
            sessions.Add((head, new InferenceSession(onnx), headParameters));
        }
        var input = new DenseTensor<float>(new float[batch * 3 * size * size], [batch, 3, size, size]);
        var random = new Random(1);
        for (int i = 0; i < input.Length; i++)
        {
            input.SetValue(i, (float)random.NextDouble());
        }
        var best = sessions.ToDictionary(s => s.Head, _ => double.MaxValue);
        double Call(InferenceSession session)
        {
            var clock = Stopwatch.StartNew();
            using IDisposableReadOnlyCollection<DisposableNamedOnnxValue> _ = session.Run([NamedOnnxValue.CreateFromTensor(OnnxModelContract.InputName, input)]);
            return clock.Elapsed.TotalMilliseconds;
        }
        foreach ((_, InferenceSession session, _) in sessions)
        {
            Call(session);
        }
        for (int round = 0; round < rounds; round++)
        {
            foreach ((ClassifierHead head, InferenceSession session, _) in sessions)
            {
                for (int k = 0; k < 3; k++)
                {
                    best[head] = Math.Min(best[head], Call(session));
                }
            }
        }
        Console.WriteLine("| head | head parameters | ms per call (best) | img/s | vs pooling |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        double pooling = best[heads[0]];
        foreach ((ClassifierHead head, InferenceSession session, long parameters) in sessions)
        {
            Console.WriteLine($"| {head} | {parameters:N0} | {best[head]:F1} | {batch * 1000 / best[head]:F1} | {best[head] / pooling:F3}x |");
            session.Dispose();
        }
        double share = (best[heads[1]] - pooling) / best[heads[1]];
        Console.WriteLine($"ML-Decoder's share of the inference time: {100 * share:F1}% (its time beyond the pooling head's, over its total)");
        return 0;
    }
}
