using Microsoft.ML;
using Miil.ML.Onnx;
using Miil.ML.Onnx.Scoring;
using Miil.ML.TorchSharp;
using Miil.ML.TorchSharp.Training;

namespace Miil.ML.Benchmarks.Soak;

/// <summary>
/// <c>soak memory</c>: resident memory over a long training run (augmentation, EMA, validation and a
/// checkpoint every epoch) and over many scored images (Transform cursors over the same images, pass
/// after pass). Each measured stretch follows a warm-up (training: a tenth as many steps again;
/// scoring: half as many images again, for .NET's GC settles its generation-0 budget over some 100 MB of
/// allocation); the drift is the largest resident sample of the measured stretch against its first,
/// and must stay under 5%. The GC's committed memory is shown beside, and the rest (native: libtorch,
/// ONNX Runtime, Skia) separately.
/// </summary>
internal static class MemorySoak
{
    private const double AllowedDrift = 0.05;

    private readonly record struct Sample(long At, double Rss, double Managed, double Committed)
    {
        public double Native => Rss - Committed;

        public static Sample Now(long at) => new(at, PeakMemory.CurrentMiB(), GC.GetTotalMemory(false) / 1048576.0, GC.GetGCMemoryInfo().TotalCommittedBytes / 1048576.0);
    }

    public static int Run(int steps, int images)
    {
        string folder = SoakCommand.Scratch("memory");
        try
        {
            var data = new SoakData(folder, train: 320, validation: 1000);
            bool training = steps == 0 || Training(data, steps);
            bool scoring = images == 0 || Scoring(data, images);
            return training && scoring ? 0 : 1;
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static bool Training(SoakData data, int steps)
    {
        const int batchesPerEpoch = 320 / 16;
        int warmUp = steps / 10;
        TResNetAslOptions options = data.Options(epochs: (steps + warmUp + batchesPerEpoch - 1) / batchesPerEpoch);
        options.ValidationSet = data.Context.Data.TakeRows(data.Validation, 64);
        options.CheckpointDirectory = Path.Combine(data.Folder, "checkpoints");
        options.Augmentation = new AugmentationOptions();
        var samples = new List<Sample>();
        long step = 0;
        int every = Math.Max(1, steps / 40);
        options.Progress = new SoakData.Progress(p =>
        {
            if (p.Phase == TrainingPhase.Training && ++step >= warmUp && (step - warmUp) % every == 0)
            {
                samples.Add(Sample.Now(step - warmUp));
            }
        });
        using (data.Context.MultiLabel().TResNetAsl(options).Fit(data.Train))
        {
        }
        return Report($"Training: {steps} steps after {warmUp} of warm-up, tiny TResNet at {data.ImageSize} px, batch 16, RandAugment + Cutout + EMA, validation and checkpoint every epoch", "step", samples);
    }

    private static bool Scoring(SoakData data, int images)
    {
        MLContext ml = data.Context;
        using TResNetAslTransformer fitted = ml.MultiLabel().TResNetAsl(data.Options(epochs: 1)).Fit(data.Train);
        string onnx = Path.Combine(data.Folder, "model.onnx");
        fitted.SaveOnnx(onnx);
        using ImageScoringTransformer scorer = ml.MultiLabel().ScoreImages(onnx, new ImageScoringOptions { ImageColumnName = "ImagePath", ImageFolder = data.Folder }).Fit(data.Validation);
        var samples = new List<Sample>();
        long warmUp = images / 2, scored = 0, total = images + warmUp, allocatedBefore = 0;
        int every = Math.Max(1, images / 40);
        while (scored < total)
        {
            foreach (SoakData.Scored row in ml.Data.CreateEnumerable<SoakData.Scored>(scorer.Transform(data.Validation), reuseRowObject: true))
            {
                if (++scored == warmUp)
                {
                    allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
                }
                if (scored >= warmUp && (scored - warmUp) % every == 0)
                {
                    samples.Add(Sample.Now(scored - warmUp));
                }
                if (scored >= total)
                {
                    break;
                }
            }
        }
        double perImage = (GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore) / (double)images;
        return Report($"Scoring: {images} images after {warmUp} of warm-up (passes over 1000 built-in images), ScoreImages at {data.ImageSize} px, batch {new ImageScoringOptions().BatchSize}; "
            + $"{perImage / 1024:F1} KiB of managed allocation per image", "images", samples);
    }

    private static bool Report(string title, string unit, List<Sample> samples)
    {
        Sample first = samples[0], last = samples[^1];
        Sample highest = samples.MaxBy(s => s.Rss);
        double drift = (highest.Rss - first.Rss) / first.Rss;
        double nativeDrift = (samples.Max(s => s.Native) - first.Native) / first.Native;
        Console.WriteLine(title);
        Console.WriteLine($"| {unit} | resident (MiB) | GC committed (MiB) | native = resident - GC (MiB) | managed heap (MiB) |");
        Console.WriteLine("|---:|---:|---:|---:|---:|");
        for (int i = 0; i < samples.Count; i += Math.Max(1, samples.Count / 10))
        {
            Print(samples[i]);
        }
        Print(last);
        Console.WriteLine($"Measured stretch: first {first.Rss:F0} MiB, highest {highest.Rss:F0} MiB, last {last.Rss:F0} MiB: drift {100 * drift:F1}% "
            + $"(native part {100 * nativeDrift:F1}%; allowed {100 * AllowedDrift:F0}%): {(drift < AllowedDrift ? "ok" : "TOO MUCH")}");
        Console.WriteLine();
        return drift < AllowedDrift;
    }

    private static void Print(Sample s) => Console.WriteLine($"| {s.At} | {s.Rss:F0} | {s.Committed:F0} | {s.Native:F0} | {s.Managed:F0} |");
}
