using System.Diagnostics;
using System.Globalization;
using Miil.ML.TorchSharp.Losses;
using Miil.ML.TorchSharp.Models.TResNet;
using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.Benchmarks;

/// <summary>
/// <c>tresnet</c> command: inference and training-step throughput, achieved GFLOP/s and peak memory
/// of TResNet and TorchVision's ResNet50 side by side in one process, with a 2048^3 matmul probe for
/// the machine's rate. Usage: <c>tresnet [--arch M|L|XL|tiny] [--size 224] [--batch 16] [--steps 3]
/// [--classes 80]</c>; several <c>--arch</c>/<c>--size</c> pairs may follow each other as
/// <c>--config M:224:16 --config tiny:64:32</c>.
/// </summary>
internal static class TResNetThroughput
{
    /// <summary>ResNet50 MACs at 224 px (the figure the TResNet paper compares against).</summary>
    private const double ResNet50MacsAt224 = 4.1e9;

    public static int Run(string[] args)
    {
        var configs = new List<(string Arch, int Size, int Batch)>();
        int steps = 3, classes = 80;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--config":
                    string[] parts = args[++i].Split(':');
                    configs.Add((parts[0], int.Parse(parts[1], CultureInfo.InvariantCulture), int.Parse(parts[2], CultureInfo.InvariantCulture)));
                    break;
                case "--steps":
                    steps = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--classes":
                    classes = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                default:
                    Console.Error.WriteLine($"unknown argument '{args[i]}'");
                    return 2;
            }
        }
        if (configs.Count == 0)
        {
            configs.AddRange([("M", 224, 16), ("tiny", 64, 32)]);
        }

        Console.WriteLine($"# TResNet throughput, {DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} cores, torch threads {get_num_threads()}, {steps} timed steps");
        double probe = MatmulProbe();
        Console.WriteLine($"matmul probe (2048^3 float32): {probe:F1} GFLOP/s");
        Console.WriteLine();
        Console.WriteLine("| model | size | batch | GMACs/img | infer img/s | infer GFLOP/s | train img/s | train GFLOP/s | peak RSS MiB | infer vs probe |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach ((string arch, int size, int batch) in configs)
        {
            TResNetArchitecture architecture = arch.Equals("tiny", StringComparison.OrdinalIgnoreCase)
                ? TResNetArchitecture.Custom([1, 1, 1, 1], 0.25)
                : TResNetArchitecture.FromName(arch);
            double macs = TResNetComplexity.Macs(architecture, classes, size, size);
            Report($"TResNet-{arch}", size, batch, macs, probe, () => new TResNet(architecture, classes), steps, classes);
            double resnetMacs = ResNet50MacsAt224 * size * size / (224.0 * 224.0);
            Report("ResNet50 (TorchVision)", size, batch, resnetMacs, probe, () => torchvision.models.resnet50(num_classes: classes), steps, classes);
        }
        return 0;
    }

    private static void Report(string name, int size, int batch, double macs, double probe, Func<nn.Module<Tensor, Tensor>> create, int steps, int classes)
    {
        PeakMemory.Reset();
        using nn.Module<Tensor, Tensor> model = create();
        double infer = Measure(model, size, batch, steps, train: false, classes);
        double train = Measure(model, size, batch, steps, train: true, classes);
        double inferGflops = infer * macs * 2 / 1e9, trainGflops = train * macs * 6 / 1e9;  // backward ~ 2x forward
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {size} | {batch} | {macs / 1e9:F3} | {infer:F1} | {inferGflops:F1} | {train:F1} | {trainGflops:F1} | {PeakMemory.MiB():F0} | {inferGflops / probe:P0} |"));
    }

    private static double Measure(nn.Module<Tensor, Tensor> model, int size, int batch, int steps, bool train, int classes)
    {
        var generator = new Generator(0);
        using Tensor input = rand([batch, 3, size, size], generator: generator);
        using Tensor targets = rand([batch, classes], generator: generator).lt(0.05).to(ScalarType.Float32);
        var loss = new AsymmetricLoss();
        using optim.Optimizer optimizer = optim.Adam(model.parameters(), lr: 1e-4);
        if (train)
        {
            model.train();
        }
        else
        {
            model.eval();
        }
        var watch = new Stopwatch();
        for (int step = -1; step < steps; step++)   // step -1 warms up
        {
            if (step == 0)
            {
                watch.Start();
            }
            using var scope = NewDisposeScope();
            if (train)
            {
                optimizer.zero_grad();
                Tensor value = loss.forward(model.forward(input), targets);
                value.backward();
                optimizer.step();
            }
            else
            {
                using var noGrad = no_grad();
                model.forward(input);
            }
        }
        watch.Stop();
        return steps * batch / watch.Elapsed.TotalSeconds;
    }

    private static double MatmulProbe()
    {
        using Tensor a = randn(2048, 2048), b = randn(2048, 2048);
        using (matmul(a, b)) { }
        var watch = Stopwatch.StartNew();
        const int reps = 5;
        for (int i = 0; i < reps; i++)
        {
            using (matmul(a, b)) { }
        }
        return reps * 2.0 * 2048 * 2048 * 2048 / watch.Elapsed.TotalSeconds / 1e9;
    }

    /// <summary>Resets the process's peak resident set (Linux: writing 5 to clear_refs).</summary>

}
