using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Miil.ML.Onnx.Scoring;

namespace Miil.ML.Benchmarks;

/// <summary>
/// <c>score --phases</c>: where a scored image's time goes, each phase alone on this machine's cores:
/// decoding into the input (ours, and the stock chain's transforms without the model) and one ONNX
/// Runtime call, at batch 1 and 64, on 1 thread and on all the cores. It shows which wall a scoring
/// target hits, and how the cores are best split between decoding and ONNX Runtime.
/// </summary>
internal static class ScoringPhases
{
    public static void Print(MLContext ml, byte[] onnx, IReadOnlyList<string> paths, ITransformer stockPreprocessing, IDataView data, string label)
    {
        Console.WriteLine();
        Console.WriteLine($"Phases of {label}, {paths.Count} images, each alone, best of 5 timings of at least 1 s, ms per image:");
        Console.WriteLine("| phase | threads | batch | ms per image |");
        Console.WriteLine("|---|---:|---:|---:|");
        Row("stock LoadImages + ResizeImages + ExtractPixels (row by row)", "1", "1", Best(() => ScoringBenchmark.Drain(stockPreprocessing.Transform(data), "input")) / paths.Count);
        foreach (int threads in new[] { 1, Environment.ProcessorCount }.Distinct())
        {
            using var scorer = new OnnxImageScorer(ml, onnx, intraOpThreads: threads);
            foreach (int batch in new[] { 1, 64 })
            {
                string[][] batches = paths.Chunk(batch).ToArray();
                Row("ours: decode to the input", threads.ToString(CultureInfo.InvariantCulture), batch.ToString(CultureInfo.InvariantCulture), Best(() =>
                {
                    foreach (string[] b in batches)
                    {
                        using PreparedBatch prepared = scorer.Prepare(b);
                    }
                }) / paths.Count);
                PreparedBatch[] ready = batches.Select(b => scorer.Prepare(b)).ToArray();
                Row("ONNX Runtime call", threads.ToString(CultureInfo.InvariantCulture), batch.ToString(CultureInfo.InvariantCulture), Best(() =>
                {
                    foreach (PreparedBatch b in ready)
                    {
                        scorer.Run(b);
                    }
                }) / paths.Count);
                if (threads == 1)
                {
                    // What the pipeline does on 2 cores: two batches at once, one thread each.
                    Row("ONNX Runtime call, two at once", "1 each", batch.ToString(CultureInfo.InvariantCulture), Best(() => Parallel.ForEach(ready, new ParallelOptions { MaxDegreeOfParallelism = 2 }, b => scorer.Run(b))) / paths.Count);
                    Row("decode and ONNX Runtime, two batches at once", "1 each", batch.ToString(CultureInfo.InvariantCulture), Best(() => Parallel.ForEach(batches, new ParallelOptions { MaxDegreeOfParallelism = 2 }, b =>
                    {
                        using PreparedBatch prepared = scorer.Prepare(b);
                        scorer.Run(prepared);
                    })) / paths.Count);
                }
                foreach (PreparedBatch b in ready)
                {
                    b.Dispose();
                }
            }
        }
    }

    /// <summary>ONNX Runtime's own profile of batches of 64 on one thread: time per operator type, the largest first.</summary>
    public static void PrintOperators(byte[] onnx, float[] input, int size, int count)
    {
        using var options = new Microsoft.ML.OnnxRuntime.SessionOptions { IntraOpNumThreads = 1, EnableProfiling = true, ProfileOutputPathPrefix = Path.Combine(Path.GetTempPath(), "miil-score-profile") };
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(onnx, options);
        string inputName = session.InputNames[0];
        for (int start = 0; start + 64 <= count; start += 64)
        {
            using var value = Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorValueFromMemory(Microsoft.ML.OnnxRuntime.OrtMemoryInfo.DefaultInstance, input.AsMemory(start * 3 * size * size, 64 * 3 * size * size), new long[] { 64, 3, size, size });
            using var outputs = session.Run(new Microsoft.ML.OnnxRuntime.RunOptions(), [inputName], [value], session.OutputNames);
        }
        string file = session.EndProfiling();
        using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(file));
        File.Delete(file);
        var byOperator = new Dictionary<string, (double Micros, int Nodes)>();
        foreach (System.Text.Json.JsonElement e in json.RootElement.EnumerateArray())
        {
            if (e.GetProperty("cat").GetString() == "Node" && e.TryGetProperty("args", out var a) && a.TryGetProperty("op_name", out var op)
                && e.GetProperty("name").GetString()!.EndsWith("_kernel_time", StringComparison.Ordinal))
            {
                (double us, int n) = byOperator.GetValueOrDefault(op.GetString()!);
                byOperator[op.GetString()!] = (us + e.GetProperty("dur").GetDouble(), n + 1);
            }
        }
        double total = byOperator.Values.Sum(v => v.Micros);
        Console.WriteLine();
        Console.WriteLine($"ONNX Runtime's profile, batches of 64 on 1 thread ({count / 64} calls): kernel time per operator type");
        Console.WriteLine("| operator | kernels run | ms per image | share |");
        Console.WriteLine("|---|---:|---:|---:|");
        foreach ((string op, (double us, int n)) in byOperator.OrderByDescending(kv => kv.Value.Micros))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {op} | {n} | {us / 1000 / (count / 64 * 64):F4} | {us / total:P1} |"));
        }
    }

    private static void Row(string phase, string threads, string batch, double seconds)
        => Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {phase} | {threads} | {batch} | {seconds * 1000:F3} |"));

    private static double Best(Action run)
    {
        run();
        double best = double.MaxValue;
        for (int r = 0; r < 5; r++)
        {
            var watch = Stopwatch.StartNew();
            int passes = 0;
            do
            {
                run();
                passes++;
            }
            while (watch.Elapsed.TotalSeconds < 1.0);
            best = Math.Min(best, watch.Elapsed.TotalSeconds / passes);
        }
        return best;
    }
}
