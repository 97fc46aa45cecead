using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Miil.ML.Datasets;
using Miil.ML.Evaluation;
using Miil.ML.TorchSharp;
using Miil.ML.TorchSharp.Losses;
using Miil.ML.TorchSharp.Models;
using Miil.ML.TorchSharp.Models.TResNet;
using Miil.ML.TorchSharp.Numerics;
using Miil.ML.TorchSharp.Training;
using static TorchSharp.torch;

namespace Miil.ML.Benchmarks;

/// <summary>
/// Mixed precision against float32. <c>train precision</c>: training steps (forward, ASL, backward, Adam)
/// on the trainer's own parts (<see cref="BFloat16Passes"/>, the Adam of the loop), float32 and bfloat16
/// (batch norm in float32, and wholly in bfloat16) alternated within each round; best images/s and the
/// ratio. <c>train precision-accuracy</c>: the QuickStart's data and options trained to the end in each
/// precision, held-out mAP and peak memory.
/// </summary>
internal static class PrecisionBenchmark
{
    private enum Variant { Float32, BFloat16, BFloat16WholeNorm }

    private static string Name(Variant v) => v switch
    {
        Variant.Float32 => "float32",
        Variant.BFloat16 => "bfloat16 (norm in float32)",
        _ => "bfloat16 (norm in bfloat16)",
    };

    public static int Throughput(string[] args)
    {
        var configs = new List<(string Arch, int Size, int Batch)>();
        int rounds = 3, steps = 3;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--config":
                    string[] p = args[++i].Split(':');
                    configs.Add((p[0], int.Parse(p[1], CultureInfo.InvariantCulture), int.Parse(p[2], CultureInfo.InvariantCulture)));
                    break;
                case "--rounds":
                    rounds = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--steps":
                    steps = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                default:
                    throw new ArgumentException($"Unknown argument '{args[i]}'.");
            }
        }
        if (configs.Count == 0)
        {
            configs.AddRange([("M", 224, 16), ("quickstart", 64, 32)]);
        }
        Console.WriteLine($"# Mixed precision, {DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} cores, CPU bfloat16 instructions: {BFloat16Support.HardwareInstructions ?? "none"}");
        Console.WriteLine($"Training steps (forward, ASL, backward, Adam) on random images, 80 classes; {rounds} rounds of {steps} steps after a warm-up step, variants alternated; best img/s, spread over rounds");
        Console.WriteLine("| model | size | batch | precision | img/s (best) | img/s (spread) | vs float32 (best) |");
        Console.WriteLine("|---|---:|---:|---|---:|---:|---:|");
        foreach ((string arch, int size, int batch) in configs)
        {
            TResNetArchitecture architecture = arch == "quickstart" ? TResNetArchitecture.Custom([1, 1, 1, 1], 0.5) : TResNetArchitecture.FromName(arch);
            Dictionary<string, List<double>> results = StepRates(architecture, size, batch, rounds, steps, withWholeNorm: true);
            double baseline = results[Name(Variant.Float32)].Max();
            foreach ((string variant, List<double> r) in results)
            {
                Console.WriteLine($"| {(arch == "quickstart" ? "QuickStart's ([1,1,1,1] x0.5)" : "TResNet-" + arch)} | {size} | {batch} | {variant} | {r.Max():F2} | {r.Min():F2}-{r.Max():F2} | {r.Max() / baseline:F2}x |");
            }
        }
        return 0;
    }

    /// <summary>
    /// Training steps (forward, ASL, backward, Adam on the trainer's own parts) on random images with 80 classes:
    /// img/s per round for float32 and bfloat16 (norm in float32; optionally norm in bfloat16), variants alternated
    /// within each round after one warm-up step each. Shared by <c>train precision</c> and <c>speed</c>.
    /// </summary>
    internal static Dictionary<string, List<double>> StepRates(TResNetArchitecture architecture, int size, int batch, int rounds, int steps, bool withWholeNorm)
    {
        Variant[] variants = withWholeNorm ? [Variant.Float32, Variant.BFloat16, Variant.BFloat16WholeNorm] : [Variant.Float32, Variant.BFloat16];
        var results = variants.ToDictionary(v => v, _ => new List<double>());
        using var model = new TResNet(architecture, 80);
        using var adam = new AdamOptimizer(model.named_parameters().Select(p => (p.name, p.parameter, AdamOptimizer.Decays(p.name, p.parameter))).ToList(), 1e-4, WeightDecayKind.CoupledL2);
        using var norm32 = new BFloat16Passes(model, CPU, normInFloat32: true, adam.ParameterNames);
        using var norm16 = new BFloat16Passes(model, CPU, normInFloat32: false, adam.ParameterNames);
        ITrainingLoss loss = TrainingLosses.Asymmetric(new AsymmetricLossOptions());
        using Tensor x = rand([batch, 3, size, size]);
        using Tensor y = (rand([batch, 80]) < 0.04).to(ScalarType.Float32);
        model.train();
        void Step(Variant v)
        {
            using var scope = NewDisposeScope();
            model.zero_grad();
            BFloat16Passes? passes = v switch { Variant.BFloat16 => norm32, Variant.BFloat16WholeNorm => norm16, _ => null };
            Tensor logits = passes is null ? model.call(x) : passes.Forward(x);
            TrainingLossValue value = loss.Compute(logits, y);
            logits.backward([value.LogitGradient!]);
            adam.Step(1e-4, 0.9, passes?.MasterGradients());
        }
        foreach (Variant v in variants)
        {
            Step(v);
        }
        for (int round = 0; round < rounds; round++)
        {
            foreach (Variant v in variants)
            {
                var clock = Stopwatch.StartNew();
                for (int s = 0; s < steps; s++)
                {
                    Step(v);
                }
                results[v].Add(steps * batch / clock.Elapsed.TotalSeconds);
            }
        }
        return results.ToDictionary(kv => Name(kv.Key), kv => kv.Value);
    }

    /// <summary>The QuickStart's data and options (examples/QuickStart, defaults), trained in each precision.</summary>
    public static int Accuracy(string folder)
    {
        string manifest = QuickStartSetup.Write(folder);
        Console.WriteLine($"# Mixed precision accuracy, {DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} cores, CPU bfloat16 instructions: {BFloat16Support.HardwareInstructions ?? "none"}");
        Console.WriteLine("QuickStart data and options (2,400 / 300 / 300 images, 12 classes, 15 epochs at 64 px, seed 0), each precision trained to the end; held-out mAP");
        Console.WriteLine("| precision | held-out mAP | validation mAP (selected) | seconds | peak RSS (MiB) |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        foreach (Variant v in new[] { Variant.Float32, Variant.BFloat16, Variant.BFloat16WholeNorm })
        {
            QuickStartSetup set = QuickStartSetup.Read(folder, manifest);
            MLContext ml = set.Context;
            TResNetAslOptions options = set.Options();
            options.Precision = v == Variant.Float32 ? TrainingPrecision.Float32 : TrainingPrecision.BFloat16;
            options.ForceBFloat16 = true;
            options.NormInFloat32 = v != Variant.BFloat16WholeNorm;
            PeakMemory.Reset();
            var clock = Stopwatch.StartNew();
            using TResNetAslTransformer model = ml.MultiLabel().TResNetAsl(options).Fit(set.Train);
            MultiLabelMetrics metrics = ml.MultiLabel().Evaluate(model.Transform(set.Test));
            Console.WriteLine($"| {Name(v)} | {100 * metrics.MeanAveragePrecision:F2}% | {100 * model.ValidationMetrics!.MeanAveragePrecision:F2}% | {clock.Elapsed.TotalSeconds:F0} | {PeakMemory.MiB():F0} |");
        }
        return 0;
    }
}
