using System.Diagnostics;
using Microsoft.ML;
using Miil.ML.TorchSharp;
using Miil.ML.TorchSharp.Training;

namespace Miil.ML.Cli.Commands;

/// <summary>
/// <c>--train-time</c>: the epochs that fit a budget, from a measured short run (the real network, data and settings;
/// <c>mlnet</c> spends its budget the same way, on measured trials): two epochs of a few steps, timed on the second,
/// since the first pays for start-up (the first steps choose kernels and allocate: measured on real photographs at
/// 224 px, a first 6-step epoch ran at 15 img/s where training ran at 22-32). The measurement counts against the
/// budget; validation is costed as a forward pass (a third of a training step) per image, and a tenth of the budget
/// is kept for export and the report.
/// </summary>
internal static class EpochBudget
{
    /// <summary>Steps of each of the measuring run's two epochs.</summary>
    private const int MeasuredSteps = 3;

    public static (int Epochs, TrainingPrecision Precision) Pick(MLContext ml, IDataView train, long trainRows, long validationRows, int budgetSeconds, TimeSpan spent, TResNetAslOptions probe, TrainLog log)
    {
        long rows = Math.Min(trainRows, (long)MeasuredSteps * probe.BatchSize);
        probe.Progress = null;
        probe.FreezeBodyEpochs = 0;            // the body's backward pass is the cost to measure
        probe.Thresholds = new Miil.ML.Evaluation.ThresholdOptions();  // no validation set to tune on
        var clock = Stopwatch.StartNew();
        probe.Epochs = 2;
        using TResNetAslTransformer measured = ml.MultiLabel().TResNetAsl(probe).Fit(ml.Data.TakeRows(train, rows));
        double imagesPerSecond = measured.History.Epochs[^1].ImagesPerSecond;
        double left = budgetSeconds * 0.9 - spent.TotalSeconds - clock.Elapsed.TotalSeconds;
        double epochSeconds = trainRows / imagesPerSecond + validationRows / (3 * imagesPerSecond);
        int epochs = (int)Math.Clamp(Math.Floor(left / epochSeconds), 1, 10_000);
        log.Line($"--train-time {budgetSeconds} s: measured {imagesPerSecond:F1} images/s on {rows} images ({clock.Elapsed.TotalSeconds:F0} s); "
            + $"an epoch takes about {epochSeconds:F0} s, so {epochs} epoch{(epochs == 1 ? "" : "s")}.");
        return (epochs, measured.Precision);  // Auto was decided by the measuring run: the same answer for the real one
    }
}
