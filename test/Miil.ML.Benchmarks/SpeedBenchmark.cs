using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.ML;
using Miil.ML.Datasets;
using Miil.ML.TorchSharp;
using Miil.ML.TorchSharp.Models.TResNet;
using Miil.ML.TorchSharp.Numerics;
using Miil.ML.TorchSharp.Training;

namespace Miil.ML.Benchmarks;

/// <summary>
/// <c>speed</c>: training speed against PyTorch on the same CPU, in one run. For each network: PyTorch's best step
/// rate (the anchor script through Debian's python3-torch: float32 and bfloat16 autocast, contiguous and channels-last),
/// our raw step (the trainer's parts on batches in memory, float32 and bfloat16), and our <c>Fit</c> from PNG files
/// (decode, augmentation, steps; the best epoch after the first), each as a ratio to PyTorch's best.
/// </summary>
internal static class SpeedBenchmark
{
    private static readonly (string Name, string Label, TResNetArchitecture Architecture, int Size, int Batch)[] Rows =
    [
        ("quickstart", "[1,1,1,1] x0.5 (QuickStart's)", TResNetArchitecture.Custom([1, 1, 1, 1], 0.5), 96, 64),
        ("tiny2222", "[2,2,2,2] x0.75", TResNetArchitecture.Custom([2, 2, 2, 2], 0.75), 96, 64),
        ("M", "TResNet-M", TResNetArchitecture.M, 224, 16),
    ];

    public static int Run(string[] args)
    {
        if (args.Length > 0 && args[0] == "breakdown")
        {
            return Breakdown(args[1..]);
        }
        int rounds = 3, steps = 3, fitSteps = 6;
        string? only = null;
        bool anchor = true;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--rounds": rounds = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--steps": steps = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--fit-steps": fitSteps = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--only": only = args[++i]; break;
                case "--no-anchor": anchor = false; break;
                default: throw new ArgumentException($"Unknown argument '{args[i]}' (speed [--only quickstart,tiny2222,M] [--rounds R] [--steps S] [--fit-steps N] [--no-anchor]).");
            }
        }
        var rows = Rows.Where(r => only is null || only.Split(',').Contains(r.Name)).ToList();
        Dictionary<string, (double Best, string Variant)> pytorch = anchor ? Anchor(rows.Select(r => $"{r.Name}:{r.Size}:{r.Batch}").ToList(), rounds, steps) : [];
        Console.WriteLine($"# Training speed against PyTorch, {DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} cores, CPU bfloat16 instructions: {BFloat16Support.HardwareInstructions ?? "none"}");
        Console.WriteLine($"Raw step: forward, ASL, backward, Adam on random batches in memory ({rounds} rounds of {steps} steps, best). Fit: {fitSteps} steps an epoch from PNG files "
            + "(decode, flips, EMA), 3 epochs, the best of epochs 2-3. PyTorch: the best of float32 / bfloat16 autocast x contiguous / channels-last.");
        Console.WriteLine("| network, input, batch | PyTorch best img/s | ours raw step img/s | raw / PyTorch | ours Fit img/s | Fit / PyTorch |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        foreach (var row in rows)
        {
            Dictionary<string, List<double>> raw = PrecisionBenchmark.StepRates(row.Architecture, row.Size, row.Batch, rounds, steps, withWholeNorm: false);
            (string rawVariant, double rawBest) = raw.Select(kv => (kv.Key, kv.Value.Max())).MaxBy(p => p.Item2);
            (string fitVariant, double fitBest) = new[] { TrainingPrecision.Float32, TrainingPrecision.BFloat16 }
                .Select(p => (p.ToString(), FitRate(row.Architecture, row.Size, row.Batch, fitSteps, p))).MaxBy(p => p.Item2);
            string key = $"{row.Name}:{row.Size}:{row.Batch}";
            string torch = pytorch.TryGetValue(key, out var t) ? $"{t.Best:F1} ({t.Variant})" : "-";
            string Ratio(double ours) => pytorch.TryGetValue(key, out var p) ? $"{ours / p.Best:F2}x" : "-";
            Console.WriteLine($"| {row.Label}, {row.Size} px, {row.Batch} | {torch} | {rawBest:F1} ({rawVariant}) | {Ratio(rawBest)} | {fitBest:F1} ({fitVariant}) | {Ratio(fitBest)} |");
        }
        return 0;
    }

    /// <summary>
    /// <c>speed breakdown</c>: where a training step's time goes, phase by phase, on the trainer's own parts and PNG
    /// files: decode and augmentation of a batch (the loader's workers, alone), the copy into a tensor, forward (in
    /// bfloat16 with the weights' cast into the twin), loss, backward, the optimiser (with the gradients' cast back),
    /// the EMA. Each phase is synchronous on the CPU, so a stopwatch around it is its time; median of the timed steps.
    /// </summary>
    private static int Breakdown(string[] args)
    {
        int steps = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 5;
        Console.WriteLine($"# Where a training step's time goes, {DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} cores; median of {steps} steps after 2 warm-up steps, ms per batch");
        Console.WriteLine("| network, input, batch | precision | decode + augment | to tensor | forward | loss | backward | optimiser | EMA | step (sum) | img/s (step) |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var row in Rows)
        {
            string folder = Path.Combine(Path.GetTempPath(), $"miil-speed-{row.Size}-{row.Batch}-breakdown");
            string manifest = Path.Combine(folder, "labels.csv");
            if (!File.Exists(manifest))
            {
                manifest = SyntheticShapes.Write(new SyntheticShapesOptions { Count = row.Batch, ClassCount = 12, ImageSize = row.Size, Seed = 0 }, folder);
            }
            var ml = new MLContext(seed: 0);
            var options = new TResNetAslOptions { Architecture = row.Architecture, ImageSize = row.Size, BatchSize = row.Batch };
            TrainingData data = TrainingData.Read(ml.MultiLabel().LoadManifest(manifest), options, "training", null);
            foreach (TrainingPrecision precision in new[] { TrainingPrecision.Float32, TrainingPrecision.BFloat16 })
            {
                double[] phases = Phases(ml, row.Architecture, row.Size, row.Batch, data, precision, steps);
                double sum = phases[1..].Sum();
                Console.WriteLine($"| {row.Label}, {row.Size} px, {row.Batch} | {precision} | {string.Join(" | ", phases.Select(p => p.ToString("F1", CultureInfo.InvariantCulture)))} | {sum:F1} | {1000 * row.Batch / sum:F1} |");
            }
        }
        return 0;
    }

    /// <summary>
    /// Median milliseconds of: decode + augment, to tensor, forward, loss, backward, optimiser, EMA.
    /// </summary>
    private static double[] Phases(MLContext ml, TResNetArchitecture architecture, int size, int batchSize, TrainingData data, TrainingPrecision precision, int steps)
    {
        using var model = new TResNet(architecture, data.ClassCount);
        model.train();
        var preprocessor = new Miil.ML.Images.ImagePreprocessor(ml, model.Preprocessing(size));
        var loader = new BatchLoader(data, preprocessor, batchSize, Environment.ProcessorCount, skipUnreadable: false);
        using var adam = new AdamOptimizer(model.named_parameters().Select(p => (p.name, p.parameter, AdamOptimizer.Decays(p.name, p.parameter))).ToList(), 1e-4, WeightDecayKind.CoupledL2);
        using var ema = new ModelEma(model, 0.98);
        using BFloat16Passes? passes = precision == TrainingPrecision.BFloat16 ? new BFloat16Passes(model, global::TorchSharp.torch.CPU, normInFloat32: true, adam.ParameterNames) : null;
        var loss = Miil.ML.TorchSharp.Losses.TrainingLosses.Asymmetric();
        var augmentation = new AugmentationOptions { HorizontalFlipProbability = 0.5, CutoutFactor = 0, RandAugmentOperations = 0 };
        int[] order = Enumerable.Range(0, data.Count).ToArray();
        var samples = Enumerable.Range(0, 7).Select(_ => new List<double>()).ToArray();
        for (int step = 0; step < steps + 2; step++)
        {
            var clock = Stopwatch.StartNew();
            // One batch of data: no next batch is prepared behind it, so the wait is one batch's decode and augmentation (on the loader's workers).
            Batch batch = loader.Batches(order, 0, augmentation, 0, step).First();
            double decode = clock.Elapsed.TotalMilliseconds;
            using var scope = global::TorchSharp.torch.NewDisposeScope();
            double Time(Action action)
            {
                var c = Stopwatch.StartNew();
                action();
                return c.Elapsed.TotalMilliseconds;
            }
            global::TorchSharp.torch.Tensor x = null!, y = null!, logits = null!;
            Miil.ML.TorchSharp.Losses.TrainingLossValue value = default;
            double[] times =
            [
                decode,
                Time(() =>
                {
                    x = global::TorchSharp.torch.tensor(batch.Pixels.AsSpan(0, batch.Count * preprocessor.Length).ToArray(), [batch.Count, 3, size, size]);
                    y = global::TorchSharp.torch.tensor(batch.Labels.AsSpan(0, batch.Count * batch.ClassCount).ToArray(), [batch.Count, batch.ClassCount]);
                }),
                Time(() =>
                {
                    model.zero_grad();
                    logits = passes is null ? model.call(x) : passes.Forward(x);
                }),
                Time(() => value = loss.Compute(logits, y)),
                Time(() => logits.backward([value.LogitGradient!])),
                Time(() => adam.Step(1e-4, 0.9, passes?.MasterGradients())),
                Time(ema.Update),
            ];
            if (step >= 2)
            {
                for (int i = 0; i < times.Length; i++)
                {
                    samples[i].Add(times[i]);
                }
            }
        }
        return samples.Select(s => s.Order().ElementAt(s.Count / 2)).ToArray();
    }

    /// <summary>Fit's training rate from image files: the best epoch after the first (which pays for start-up).</summary>
    private static double FitRate(TResNetArchitecture architecture, int size, int batch, int steps, TrainingPrecision precision)
    {
        string folder = Path.Combine(Path.GetTempPath(), $"miil-speed-{size}-{batch}-{steps}");
        string manifest = Path.Combine(folder, "labels.csv");
        if (!File.Exists(manifest))
        {
            manifest = SyntheticShapes.Write(new SyntheticShapesOptions { Count = batch * steps, ClassCount = 12, ImageSize = size, Seed = 0 }, folder);
        }
        var ml = new MLContext(seed: 0);
        IDataView data = ml.MultiLabel().LoadManifest(manifest);
        using TResNetAslTransformer model = ml.MultiLabel().TResNetAsl(new TResNetAslOptions
        {
            Architecture = architecture,
            ImageSize = size,
            Epochs = 3,
            BatchSize = batch,
            LearningRate = 2e-3f,
            EmaDecay = 0.98,
            Augmentation = new AugmentationOptions { HorizontalFlipProbability = 0.5, CutoutFactor = 0, RandAugmentOperations = 0 },
            Precision = precision,
            Seed = 0,
        }).Fit(data);
        return model.History.Epochs.Skip(1).Max(e => e.ImagesPerSecond);
    }

    /// <summary>PyTorch's best variant per config from the anchor script, or nothing (with the reason) where Debian's python3-torch is missing.</summary>
    private static Dictionary<string, (double, string)> Anchor(List<string> configs, int rounds, int steps)
    {
        string? script = FindUp(Path.Combine("test", "Miil.ML.Benchmarks", "anchor", "tresnet_anchor.py"));
        const string python = "/usr/bin/python3";
        if (script is null || !File.Exists(python))
        {
            Console.Error.WriteLine($"PyTorch anchor skipped: {(script is null ? "tresnet_anchor.py not found above the working folder" : python + " not found")} (apt-get install python3-torch).");
            return [];
        }
        var start = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { script, "--json", "--rounds", $"{rounds}", "--steps", $"{steps}", "--threads", $"{Environment.ProcessorCount}" }
            .Concat(configs.SelectMany(c => new[] { "--config", c })))
        {
            start.ArgumentList.Add(a);
        }
        using Process process = Process.Start(start)!;
        Task<string> errors = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Console.Error.Write(errors.Result);
        if (process.ExitCode != 0)
        {
            Console.Error.WriteLine($"PyTorch anchor failed (exit {process.ExitCode}): is python3-torch installed?");
            return [];
        }
        using JsonDocument results = JsonDocument.Parse(output);
        return results.RootElement.EnumerateArray()
            .GroupBy(r => r.GetProperty("config").GetString()!)
            .ToDictionary(g => g.Key, g =>
            {
                JsonElement top = g.MaxBy(r => r.GetProperty("best").GetDouble());
                return (top.GetProperty("best").GetDouble(), top.GetProperty("variant").GetString()!);
            });
    }

    private static string? FindUp(string relative)
    {
        for (string? folder = Directory.GetCurrentDirectory(); folder is not null; folder = Path.GetDirectoryName(folder))
        {
            string candidate = Path.Combine(folder, relative);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }
}
