using System.Diagnostics;
using Microsoft.ML;
using Miil.ML.Onnx;
using Miil.ML.Onnx.Scoring;
using Miil.ML.TorchSharp;
using Miil.ML.TorchSharp.Training;

namespace Miil.ML.Benchmarks.Soak;

/// <summary>
/// <c>soak concurrency</c>: N threads share one fitted transformer (the trainer's, and the scorer that
/// LoadModel rebuilds from its saved zip); half of them read Transform cursors, half call their own
/// PredictionEngine row by row, each several passes over the same images. Every score and decision
/// must be bit for bit the serial pass's.
/// </summary>
internal static class ConcurrencySoak
{
    private const int Images = 240;
    private const int Passes = 3;

    public static int Run(int threads, string readers = "both")
    {
        string folder = SoakCommand.Scratch("concurrency");
        try
        {
            var data = new SoakData(folder, train: 96, validation: Images);
            MLContext ml = data.Context;
            using TResNetAslTransformer fitted = ml.MultiLabel().TResNetAsl(data.Options(epochs: 1)).Fit(data.Train);
            string zip = Path.Combine(folder, "model.zip");
            ml.Model.Save(fitted, data.Validation.Schema, zip);
            using ImageScoringTransformer loaded = ml.MultiLabel().LoadModel(zip, new ImageScoringOptions { ImageColumnName = "ImagePath", ImageFolder = folder });

            Console.WriteLine($"{threads} threads ({threads - threads / 2} Transform cursors, {threads / 2} PredictionEngines), {Passes} passes each over {Images} images, tiny TResNet at {data.ImageSize} px");
            Console.WriteLine("| transformer | rows compared | mismatching rows | seconds |");
            Console.WriteLine("|---|---:|---:|---:|");
            int failures = Check("TResNetAslTransformer (Fit)", ml, fitted, data, threads, readers)
                + Check("ImageScoringTransformer (LoadModel)", ml, loaded, data, threads, readers);
            return failures == 0 ? 0 : 1;
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static int Check(string name, MLContext ml, ITransformer transformer, SoakData data, int threads, string readers)
    {
        SoakData.Scored[] serial = ml.Data.CreateEnumerable<SoakData.Scored>(transformer.Transform(data.Validation), reuseRowObject: false).ToArray();
        SoakData.Row[] rows = ml.Data.CreateEnumerable<SoakData.Row>(data.Validation, reuseRowObject: false).ToArray();
        long compared = 0, mismatches = 0;
        var clock = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            for (int pass = 0; pass < Passes; pass++)
            {
                IReadOnlyList<SoakData.Scored> results;
                if (readers == "cursors" || (readers != "engines" && t % 2 == 0))
                {
                    results = ml.Data.CreateEnumerable<SoakData.Scored>(transformer.Transform(data.Validation), reuseRowObject: false).ToArray();
                }
                else
                {
                    using PredictionEngine<SoakData.Row, SoakData.Scored> engine = ml.Model.CreatePredictionEngine<SoakData.Row, SoakData.Scored>(transformer);
                    results = rows.Select(r => engine.Predict(r)).ToArray();
                }
                int bad = results.Count != serial.Length ? serial.Length : serial.Zip(results).Count(p => !Same(p.First, p.Second));
                Interlocked.Add(ref compared, serial.Length);
                Interlocked.Add(ref mismatches, bad);
            }
        })).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());
        Console.WriteLine($"| {name} | {compared} | {mismatches} | {clock.Elapsed.TotalSeconds:F1} |");
        return mismatches == 0 ? 0 : 1;
    }

    private static bool Same(SoakData.Scored a, SoakData.Scored b)
        => a.ImagePath == b.ImagePath
        && a.Score.Select(BitConverter.SingleToInt32Bits).SequenceEqual(b.Score.Select(BitConverter.SingleToInt32Bits))
        && a.PredictedLabels.SequenceEqual(b.PredictedLabels);
}
