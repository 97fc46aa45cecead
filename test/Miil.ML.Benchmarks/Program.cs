using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Miil.ML.Benchmarks;

// 'tresnet' runs the throughput table (model steps take seconds: a command, not BenchmarkDotNet).
if (args.Length > 0 && args[0] == "tresnet")
{
    return TResNetThroughput.Run(args[1..]);
}
if (args.Length > 0 && args[0] == "evaluate")
{
    return EvaluationBenchmark.Run(args[1..]);
}
if (args.Length > 0 && args[0] == "train")
{
    return TrainingBenchmark.Run(args[1..]);
}
if (args.Length > 0 && args[0] == "serve")
{
    return ServingBenchmark.Run(args[1..]);
}
if (args.Length > 0 && args[0] == "soak")
{
    return Miil.ML.Benchmarks.Soak.SoakCommand.Run(args[1..]);
}
if (args.Length > 0 && args[0] == "heads")
{
    return HeadBenchmark.Run(args[1..]);
}
if (args.Length > 0 && args[0] == "speed")
{
    return Miil.ML.Benchmarks.SpeedBenchmark.Run(args[1..]);
}
if (args.Length > 0 && args[0] == "photos")
{
    return Miil.ML.Benchmarks.Photos.PhotoTransferBenchmark.Run(args[1..]);
}
if (args.Length > 0 && args[0] == "score")
{
    return ScoringBenchmark.Run(args[1..]);
}

// BenchmarkDotNet runs in process: a separate BenchmarkDotNet build would copy TorchSharp's natives
// without this repository's libstdc++ step. Usage: dotnet run -c Release --project test/Miil.ML.Benchmarks -- --filter '*Asl*'
IConfig config = DefaultConfig.Instance
    .AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithWarmupCount(3).WithIterationCount(15))
    .WithOptions(ConfigOptions.DisableOptimizationsValidator);
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
return 0;
