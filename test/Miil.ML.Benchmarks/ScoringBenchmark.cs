using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using Miil.ML.Datasets;
using Miil.ML.Onnx;
using Miil.ML.Onnx.Scoring;
using Miil.ML.TorchSharp.Export;
using Miil.ML.TorchSharp.Models.TResNet;
using static TorchSharp.torch;

namespace Miil.ML.Benchmarks;

/// <summary>
/// <c>score</c> command: images per second of ScoreImages at batch 1, 16 and 64 against the stock
/// ImageAnalytics + ApplyOnnxModel chain (row by row) and TorchSharp eager inference on the same
/// preprocessed pixels, over built-in images, CPU. Usage: <c>score [--config tiny:64:512] [--config M:224:128] [--rounds 5] [--phases]</c>
/// (architecture, image size, number of images).
/// </summary>
internal static class ScoringBenchmark
{
    public static int Run(string[] args)
    {
        var configs = new List<(string Arch, int Size, int Count)>();
        int rounds = 5;
        bool phases = false;
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--config")
            {
                string[] p = args[++i].Split(':');
                configs.Add((p[0], int.Parse(p[1], CultureInfo.InvariantCulture), int.Parse(p[2], CultureInfo.InvariantCulture)));
            }
            else if (args[i] == "--phases")
            {
                phases = true;
            }
            else if (args[i] == "--rounds")
            {
                rounds = int.Parse(args[++i], CultureInfo.InvariantCulture);
            }
            else
            {
                Console.Error.WriteLine($"unknown argument '{args[i]}'");
                return 2;
            }
        }
        if (configs.Count == 0)
        {
            configs.AddRange([("tiny", 64, 512), ("M", 224, 128)]);
        }
        Console.WriteLine($"# Scoring, {DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} cores, CPU");
        Console.WriteLine($"{rounds} rounds, methods alternated within each; best img/s and the spread over rounds; ratio of bests, and the spread of each round's ratio");
        Console.WriteLine("| model | size | images | method | img/s (best) | img/s (spread) | vs stock (best) | vs stock (per round) |");
        Console.WriteLine("|---|---:|---:|---|---:|---:|---:|---:|");
        foreach ((string arch, int size, int count) in configs)
        {
            string folder = Directory.CreateTempSubdirectory("miil-score-bench-").FullName;
            try
            {
                Run(arch, size, count, folder, rounds, phases);
            }
            finally
            {
                Directory.Delete(folder, recursive: true);
            }
        }
        return 0;
    }

    private sealed class PathRow
    {
        public string ImagePath { get; set; } = "";
    }

    private static void Run(string arch, int size, int count, string folder, int rounds, bool phases)
    {
        string manifest = SyntheticShapes.Write(new SyntheticShapesOptions { Count = count, ImageSize = size, ClassCount = 20, Seed = 1 }, folder);
        PathRow[] rows = File.ReadAllLines(manifest).Skip(1).Select(l => new PathRow { ImagePath = Path.Combine(folder, l.Split(',')[0]) }).ToArray();
        TResNetArchitecture architecture = arch == "tiny" ? TResNetArchitecture.Custom([1, 1, 1, 1], 0.25) : TResNetArchitecture.FromName(arch);
        using var model = new TResNet(architecture, 20);
        model.eval();
        byte[] onnx = OnnxExporter.Export(model, new OnnxExportOptions { ImageSize = size });

        var ml = new MLContext(seed: 0);
        IDataView data = ml.Data.LoadFromEnumerable(rows);
        ITransformer stock = ml.Transforms.LoadImages("Image", "", "ImagePath")
            .Append(ml.Transforms.ResizeImages("Resized", size, size, "Image", ImageResizingEstimator.ResizingKind.Fill))
            .Append(ml.Transforms.ExtractPixels("input", "Resized", interleavePixelColors: false, scaleImage: 1f / 255f))
            .Append(ml.Transforms.ApplyOnnxModel(["Score"], ["input"], new MemoryStream(onnx)))
            .Fit(data);
        var methods = new List<(string Name, Action Run)> { ("stock chain (row by row)", () => Drain(stock.Transform(data), "Score")) };
        var scorers = new List<ImageScoringTransformer>();
        foreach (int batch in new[] { 1, 16, 64 })
        {
            ImageScoringTransformer scorer = ml.MultiLabel().ScoreImages(onnx, new ImageScoringOptions { ImageColumnName = "ImagePath", BatchSize = batch }).Fit(data);
            scorers.Add(scorer);
            methods.Add(($"ScoreImages batch {batch}", () => Drain(scorer.Transform(data), "Score")));
        }

        if (phases)
        {
            ITransformer preprocessing = ml.Transforms.LoadImages("Image", "", "ImagePath")
                .Append(ml.Transforms.ResizeImages("Resized", size, size, "Image", ImageResizingEstimator.ResizingKind.Fill))
                .Append(ml.Transforms.ExtractPixels("input", "Resized", interleavePixelColors: false, scaleImage: 1f / 255f))
                .Fit(data);
            ScoringPhases.Print(ml, onnx, rows.Select(r => r.ImagePath).ToArray(), preprocessing, data, $"TResNet-{arch} at {size} px");
        }

        // TorchSharp eager on pre-extracted pixels, batches of 64 (preprocessing excluded: an upper bound).
        float[] pixels = ml.Data.CreateEnumerable<Pixels>(ml.Transforms.LoadImages("Image", "", "ImagePath")
            .Append(ml.Transforms.ResizeImages("Resized", size, size, "Image", ImageResizingEstimator.ResizingKind.Fill))
            .Append(ml.Transforms.ExtractPixels("input", "Resized", interleavePixelColors: false, scaleImage: 1f / 255f))
            .Fit(data).Transform(data), reuseRowObject: false).SelectMany(p => p.input).ToArray();
        if (phases)
        {
            ScoringPhases.PrintOperators(onnx, pixels, size, count);
            return;
        }
        methods.Add(("TorchSharp eager, batch 64, pixels ready", () =>
        {
            using var noGrad = no_grad();
            for (int start = 0; start < count; start += 64)
            {
                int n = Math.Min(64, count - start);
                using var scope = NewDisposeScope();
                model.forward(tensor(pixels.AsSpan(start * 3 * size * size, n * 3 * size * size).ToArray(), [n, 3, size, size])).sigmoid();
            }
        }));

        // Rounds alternate the methods, so load on the machine hits all of them alike; each round's ratio is against that round's stock chain.
        foreach ((_, Action run) in methods)
        {
            run();
        }
        var seconds = new double[methods.Count, rounds];
        for (int r = 0; r < rounds; r++)
        {
            for (int m = 0; m < methods.Count; m++)
            {
                seconds[m, r] = SecondsPerPass(methods[m].Run);
            }
        }
        double stockBest = Enumerable.Range(0, rounds).Min(r => seconds[0, r]);
        for (int m = 0; m < methods.Count; m++)
        {
            double[] rates = Enumerable.Range(0, rounds).Select(r => count / seconds[m, r]).ToArray();
            double[] ratios = Enumerable.Range(0, rounds).Select(r => seconds[0, r] / seconds[m, r]).ToArray();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| TResNet-{arch} | {size} | {count} | {methods[m].Name} | {rates.Max():F1} | {rates.Min():F1}-{rates.Max():F1} | {stockBest / Enumerable.Range(0, rounds).Min(r => seconds[m, r]):F2}x | {ratios.Min():F2}-{ratios.Max():F2}x |"));
        }
        foreach (ImageScoringTransformer scorer in scorers)
        {
            scorer.Dispose();
        }
    }

    /// <summary>
    /// Seconds of one pass, timed over as many passes as fill <see cref="MinimumSeconds"/>: a pass of the
    /// tiny model takes about 0.1 s, shorter than the host's own hiccups.
    /// </summary>
    private static double SecondsPerPass(Action run)
    {
        var watch = Stopwatch.StartNew();
        int passes = 0;
        do
        {
            run();
            passes++;
        }
        while (watch.Elapsed.TotalSeconds < MinimumSeconds);
        return watch.Elapsed.TotalSeconds / passes;
    }

    private const double MinimumSeconds = 1.0;

    private sealed class Pixels
    {
        [VectorType]
        public float[] input { get; set; } = [];
    }

    /// <summary>Reads every row's vector of <paramref name="column"/>: what a consumer of the view does.</summary>
    internal static void Drain(IDataView scored, string column)
    {
        DataViewSchema.Column c = scored.Schema[column];
        using DataViewRowCursor cursor = scored.GetRowCursor([c]);
        ValueGetter<VBuffer<float>> get = cursor.GetGetter<VBuffer<float>>(c);
        VBuffer<float> value = default;
        while (cursor.MoveNext())
        {
            get(ref value);
        }
    }
}
